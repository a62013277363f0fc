package registry

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trellis-mesh/trellis/internal/store/bolt"
)

// TestExpiryOnlyOnLeader: the background sweep does nothing while
// IsLeader says no, and expires the instance once it says yes.
func TestExpiryOnlyOnLeader(t *testing.T) {
	st, err := bolt.Open(filepath.Join(t.TempDir(), "r.db"), bolt.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	clk := &fakeClock{}
	clk.ns.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	var leader atomic.Bool
	var sweeps atomic.Int64
	r := New(st, Options{TTL: 30 * time.Second, ExpiryInterval: 5 * time.Millisecond, Now: clk.now,
		IsLeader: func() bool { sweeps.Add(1); return leader.Load() }})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done; st.Close() })

	s := service(t, r, ctx)
	if _, err := r.RegisterInstance(ctx, s.ID, "a", leased(attrs("10.0.0.1", "80", "blue"), "60"), ""); err != nil {
		t.Fatal(err)
	}
	synced(t, r, ctx)
	clk.advance(time.Minute)
	sweeps.Store(0)
	// Let the follower's sweep loop ask (and be refused) a few times.
	for deadline := time.Now().Add(10 * time.Second); sweeps.Load() < 5 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := r.GetInstance(ctx, s.ID, "a"); err != nil {
		t.Fatalf("a follower expired the instance: %v", err)
	}
	leader.Store(true)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if _, err := r.GetInstance(ctx, s.ID, "a"); err != nil {
			return // expired by the leader's sweep
		}
	}
	t.Fatal("the leader did not expire the instance")
}
