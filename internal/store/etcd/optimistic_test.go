package etcd

import (
	"context"
	"errors"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/trellis-mesh/trellis/internal/store"
	"github.com/trellis-mesh/trellis/internal/store/etcd/etcdtest"
)

// TestOptimisticReads: an optimistic writer's reads skip the fence; its
// outcome is called stale (to be redone with fences) exactly when such a
// read was not followed by a committed Txn, and a failed Txn ends the
// optimism at once.
func TestOptimisticReads(t *testing.T) {
	c := etcdtest.Start(t, 1)
	s, err := Open(t.Context(), Options{Endpoints: c.Endpoints(), Prefix: "/opt/", ReadCache: true})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	rev, err := s.Txn(t.Context(), nil, []store.Op{store.Put("k", []byte("v"))})
	if err != nil {
		t.Fatal(err)
	}
	get := func(ctx context.Context) {
		if _, err := s.Get(ctx, "k"); err != nil {
			t.Fatalf("Get: %v", err)
		}
	}
	commit := func(ctx context.Context) error {
		_, err := s.Txn(ctx, []store.Compare{store.KeyAt("k", rev)}, []store.Op{store.Put("k", []byte("w"))})
		if err == nil {
			rev, err = s.Revision(t.Context())
		}
		return err
	}
	for _, tc := range []struct {
		name      string
		run       func(ctx context.Context)
		stale     bool
		unfenced  float64 // reads without a fence
		wantFence bool    // the session holds a fence afterwards
	}{
		{"no reads", func(ctx context.Context) {}, false, 0, false},
		{"read, no commit (an error, a replay)", func(ctx context.Context) { get(ctx) }, true, 1, false},
		{"read then commit", func(ctx context.Context) {
			get(ctx)
			if err := commit(ctx); err != nil {
				t.Fatalf("commit: %v", err)
			}
			get(ctx) // after the commit: fenced at its revision
		}, false, 1, true},
		{"conflict ends the optimism", func(ctx context.Context) {
			get(ctx)
			_, err := s.Txn(ctx, []store.Compare{store.KeyAt("k", rev-1)}, []store.Op{store.Put("k", []byte("x"))})
			if !errors.Is(err, store.ErrConflict) {
				t.Fatalf("Txn: %v, want ErrConflict", err)
			}
			get(ctx) // fenced
		}, false, 1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := testutil.ToFloat64(s.m.unfenced)
			ctx := WithReadSession(t.Context())
			if !s.BeginOptimistic(ctx) {
				t.Fatal("BeginOptimistic with a session: false")
			}
			tc.run(ctx)
			if got := s.EndOptimistic(ctx); got != tc.stale {
				t.Errorf("EndOptimistic = %v, want %v", got, tc.stale)
			}
			if got := testutil.ToFloat64(s.m.unfenced) - before; got != tc.unfenced {
				t.Errorf("%v unfenced reads, want %v", got, tc.unfenced)
			}
			if got := sessionOf(ctx).get() != 0; got != tc.wantFence {
				t.Errorf("session holds a fence: %v, want %v", got, tc.wantFence)
			}
			before = testutil.ToFloat64(s.m.unfenced)
			get(ctx) // after EndOptimistic every read is fenced
			if testutil.ToFloat64(s.m.unfenced) != before {
				t.Error("a read after EndOptimistic skipped the fence")
			}
		})
	}
	if s.BeginOptimistic(t.Context()) {
		t.Error("BeginOptimistic without a read session: true")
	}
}
