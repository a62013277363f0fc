package registry

import (
	"errors"
	"testing"
	"time"
)

// leased returns attrs with a lease of secs seconds.
func leased(a map[string]string, secs string) map[string]string {
	a[AttrTTL] = secs
	return a
}

// TestAPIInstancesDoNotExpire: an instance registered without AttrTTL
// (what the aws CLI and SDKs send) outlives any number of sweeps, also
// when its custom health turns UNHEALTHY; a leased one expires.
func TestAPIInstancesDoNotExpire(t *testing.T) {
	r, clk, ctx := setup(t)
	s := service(t, r, ctx)
	if _, err := r.RegisterInstance(ctx, s.ID, "api", attrs("10.0.0.1", "80", "blue"), ""); err != nil {
		t.Fatal(err)
	}
	if _, err := r.RegisterInstance(ctx, s.ID, "sidecar", leased(attrs("10.0.0.2", "80", "blue"), "30"), ""); err != nil {
		t.Fatal(err)
	}
	if err := r.SetHealth(ctx, s.ID, "api", Unhealthy); err != nil {
		t.Fatal(err)
	}
	synced(t, r, ctx)
	clk.advance(24 * time.Hour)
	if n, err := r.ExpireOnce(ctx); err != nil || n != 1 {
		t.Fatalf("ExpireOnce = %d, %v; want only the leased instance", n, err)
	}
	if _, err := r.GetInstance(ctx, s.ID, "api"); err != nil {
		t.Fatalf("API-registered instance gone after a day: %v", err)
	}
	if _, err := r.GetInstance(ctx, s.ID, "sidecar"); !errors.Is(err, ErrInstanceNotFound) {
		t.Fatalf("leased instance after a day: %v", err)
	}
}

// TestLeaseTTL: the asked TTL is validated and capped at Options.TTL.
func TestLeaseTTL(t *testing.T) {
	for _, tc := range []struct {
		val     string
		set     bool
		want    time.Duration
		wantErr bool
	}{
		{set: false, want: 0},
		{val: "1", set: true, want: time.Second},
		{val: "10", set: true, want: 10 * time.Second},
		{val: "30", set: true, want: 30 * time.Second},
		{val: "31", set: true, want: 30 * time.Second},
		{val: "86400", set: true, want: 30 * time.Second},
		{val: "86401", set: true, wantErr: true},
		{val: "0", set: true, wantErr: true},
		{val: "-5", set: true, wantErr: true},
		{val: "10s", set: true, wantErr: true},
		{val: "", set: true, wantErr: true},
	} {
		a := map[string]string{}
		if tc.set {
			a[AttrTTL] = tc.val
		}
		got, err := leaseTTL(a, 30*time.Second)
		if tc.wantErr {
			if !errors.Is(err, ErrInvalidInput) {
				t.Errorf("%q: err = %v, want ErrInvalidInput", tc.val, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q: got %v, %v; want %v", tc.val, got, err, tc.want)
		}
	}
}

// TestLegacyTTLIgnored: an instance stored by an older Trellis with a TTL
// but no AttrTTL does not expire.
func TestLegacyTTLIgnored(t *testing.T) {
	now := time.Now()
	old := Instance{ID: "x", TTL: 30 * time.Second, LastHeartbeat: now.Add(-time.Hour), Attributes: map[string]string{}}
	if expired(old, now) {
		t.Fatal("legacy instance without AttrTTL expired")
	}
	old.Attributes[AttrTTL] = "30"
	if !expired(old, now) {
		t.Fatal("leased instance did not expire")
	}
}
