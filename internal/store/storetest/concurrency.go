package storetest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"

	"github.com/trellis-mesh/trellis/internal/store"
)

var concurrencyTests = []subtest{
	{"CASIncrements", testCASIncrements},
	{"DistinctCreates", testDistinctCreates},
}

// testCASIncrements has goroutines increment one counter with
// read-modify-write Txns guarded by KeyAt, retrying on ErrConflict. A lost
// update (two winners from the same read) shows up as a short count.
func testCASIncrements(t *testing.T, h *harness) {
	s := h.open(t)
	const goroutines, increments = 8, 25
	put(t, s, "counter", "0")
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range increments {
				if err := increment(s, "counter"); err != nil {
					t.Errorf("goroutine %d: %v", g, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if got := string(mustGet(t, s, "counter").Value); got != strconv.Itoa(goroutines*increments) {
		t.Fatalf("counter = %s, want %d", got, goroutines*increments)
	}
}

// increment adds one to the decimal counter at key, retrying conflicts.
func increment(s store.Store, key string) error {
	ctx := context.Background()
	for {
		kv, err := s.Get(ctx, key)
		if err != nil {
			return fmt.Errorf("get: %w", err)
		}
		n, err := strconv.Atoi(string(kv.Value))
		if err != nil {
			return fmt.Errorf("counter %q: %w", kv.Value, err)
		}
		_, err = s.Txn(ctx, []store.Compare{store.KeyAt(key, kv.ModRevision)},
			[]store.Op{store.Put(key, []byte(strconv.Itoa(n+1)))})
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		return err
	}
}

// testDistinctCreates has goroutines create distinct keys guarded by
// KeyAbsent: none may conflict, and every write gets its own revision. A
// watcher running meanwhile must see each revision once, in order, even
// though concurrent commits may finish in any order.
func testDistinctCreates(t *testing.T, h *harness) {
	s := h.open(t)
	const goroutines, keysEach = 8, 20
	before := revision(t, s)
	w := watchNow(t, s, "c/")
	revs := make([][]int64, goroutines)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range keysEach {
				k := fmt.Sprintf("c/%d/%d", g, i)
				rev, err := s.Txn(context.Background(), []store.Compare{store.KeyAbsent(k)},
					[]store.Op{store.Put(k, []byte(k))})
				if err != nil {
					t.Errorf("create %s: %v", k, err)
					return
				}
				revs[g] = append(revs[g], rev)
			}
		}()
	}
	wg.Wait()
	seen := make(map[int64]bool)
	for _, rs := range revs {
		for _, r := range rs {
			if seen[r] || r <= before || r > before+goroutines*keysEach {
				t.Fatalf("revision %d duplicated or outside (%d, %d]", r, before, before+goroutines*keysEach)
			}
			seen[r] = true
		}
	}
	for want := before + 1; want <= before+goroutines*keysEach; want++ {
		if ev := w.next(); ev.KV.ModRevision != want {
			t.Fatalf("watch: event at revision %d, want %d", ev.KV.ModRevision, want)
		}
	}
	kvs, rev := mustList(t, s, "c/", store.ListOptions{})
	if len(kvs) != goroutines*keysEach || rev != before+goroutines*keysEach {
		t.Fatalf("List: %d keys at revision %d, want %d at %d", len(kvs), rev, goroutines*keysEach, before+goroutines*keysEach)
	}
}
