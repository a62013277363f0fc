package registry

import (
	"context"
	"testing"
)

// TestInstancesRevision: the revision moves on registration,
// deregistration and attribute changes, not on heartbeats or health
// updates, and never moves back after a reload.
func TestInstancesRevision(t *testing.T) {
	r, _, ctx := setup(t)
	s := service(t, r, ctx)
	rev := func() int64 {
		t.Helper()
		v, err := r.InstancesRevision(ctx, "apps.local", "color")
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	step := func(what string, moves bool, do func() error) {
		t.Helper()
		before := rev()
		if err := do(); err != nil {
			t.Fatal(err)
		}
		after := rev()
		if moves && after <= before || !moves && after != before {
			t.Fatalf("%s: revision %d → %d, want it to move: %v", what, before, after, moves)
		}
	}
	register := func(ip string) func() error {
		return func() error {
			_, err := r.RegisterInstance(ctx, s.ID, "a", attrs(ip, "80", "blue"), "")
			return err
		}
	}
	step("register", true, register("10.0.0.1"))
	step("heartbeat (same attributes)", false, register("10.0.0.1"))
	step("health update", false, func() error { return r.SetHealth(ctx, s.ID, "a", Unhealthy) })
	step("new attributes", true, register("10.0.0.2"))
	step("deregister", true, func() error { return r.DeregisterInstance(ctx, s.ID, "a") })
	before := rev()
	if _, err := r.load(context.Background()); err != nil {
		t.Fatal(err)
	}
	if after := rev(); after < before {
		t.Fatalf("revision after a reload %d < %d before", after, before)
	}
	if _, err := r.InstancesRevision(ctx, "apps.local", "nope"); err == nil {
		t.Fatal("revision of a missing service")
	}
}
