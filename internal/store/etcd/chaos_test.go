package etcd

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/trellis-mesh/trellis/internal/store"
	"github.com/trellis-mesh/trellis/internal/store/etcd/etcdtest"
)

// TestWatchSurvivesMemberKills kills each member in turn (kill -9, then a
// restart) while writing, and checks that one watch delivers exactly the
// acknowledged revisions, in order, with none lost or repeated.
func TestWatchSurvivesMemberKills(t *testing.T) {
	c := etcdtest.Start(t, 3)
	s, err := Open(t.Context(), Options{Endpoints: c.Endpoints(), Prefix: "/chaos/"})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	from, err := s.Revision(t.Context())
	if err != nil {
		t.Fatalf("Revision: %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	ch, err := s.Watch(ctx, "k/", from)
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	var acked []int64
	n, ambiguous := 0, 0
	for i := range c.Members() {
		c.Kill(t, i)
		for range 10 {
			if rev, ok := retryPut(t, s, fmt.Sprintf("k/%d", n)); ok {
				acked = append(acked, rev)
			} else {
				ambiguous++
			}
			n++
		}
		c.Restart(t, i)
	}
	var seen []int64
	timeout := time.After(30 * time.Second)
	for len(seen) < len(acked)+ambiguous {
		select {
		case resp := <-ch:
			if resp.Err != nil {
				t.Fatalf("watch ended: %v", resp.Err)
			}
			for _, ev := range resp.Events {
				seen = append(seen, ev.KV.ModRevision)
			}
		case <-timeout:
			t.Fatalf("watch delivered %d of %d acknowledged writes", len(seen), len(acked))
		}
	}
	for i := 1; i < len(seen); i++ {
		if seen[i] <= seen[i-1] {
			t.Fatalf("watch revisions out of order or repeated: %v", seen)
		}
	}
	for _, rev := range acked {
		if !slices.Contains(seen, rev) {
			t.Fatalf("acknowledged revision %d missing from the watch: %v", rev, seen)
		}
	}
	t.Logf("%d writes acknowledged (+%d committed after a timeout) during 3 member kills; one watch delivered all %d",
		len(acked), ambiguous, len(seen))
}

// retryPut creates key, retrying while the cluster elects a leader. A
// timed-out attempt may still have committed; the KeyAbsent compare then
// fails the retry, and the write counts as committed but not acknowledged
// (false).
func retryPut(t *testing.T, s *Store, key string) (int64, bool) {
	t.Helper()
	for range 50 {
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		rev, err := s.Txn(ctx, []store.Compare{store.KeyAbsent(key)}, []store.Op{store.Put(key, []byte("v"))})
		cancel()
		if err == nil {
			return rev, true
		}
		if errors.Is(err, store.ErrConflict) {
			return 0, false
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("put %s: no success in 50 attempts", key)
	return 0, false
}
