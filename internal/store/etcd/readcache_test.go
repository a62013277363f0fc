package etcd

import (
	"fmt"
	"strconv"
	"sync"
	"testing"

	"github.com/trellis-mesh/trellis/internal/store"
	"github.com/trellis-mesh/trellis/internal/store/etcd/etcdtest"
)

// TestReadCacheSeesOtherWriters: a write acknowledged through one store
// (its own client) is seen by the very next cached Get of another store,
// every time, also with concurrent readers sharing fences and writes
// outside the prefix moving the revision.
func TestReadCacheSeesOtherWriters(t *testing.T) {
	c := etcdtest.Start(t, 3)
	open := func(prefix string, cache bool) *Store {
		s, err := Open(t.Context(), Options{Endpoints: c.Endpoints(), Prefix: prefix, ReadCache: cache})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	w, r, other := open("/rc/", false), open("/rc/", true), open("/elsewhere/", false)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 50 {
				key := fmt.Sprintf("g%d", g)
				rev, err := w.Txn(t.Context(), nil, []store.Op{store.Put(key, []byte(strconv.Itoa(i)))})
				if err != nil {
					t.Errorf("Txn: %v", err)
					return
				}
				if _, err := other.Txn(t.Context(), nil, []store.Op{store.Put("noise", nil)}); err != nil {
					t.Errorf("Txn elsewhere: %v", err)
					return
				}
				kv, err := r.Get(t.Context(), key)
				if err != nil || kv.ModRevision < rev {
					t.Errorf("cached Get after a write at %d: %+v, %v (stale)", rev, kv, err)
					return
				}
			}
			key := fmt.Sprintf("g%d", g)
			if _, err := w.Txn(t.Context(), nil, []store.Op{store.Del(key)}); err != nil {
				t.Errorf("Txn: %v", err)
				return
			}
			if kv, err := r.Get(t.Context(), key); err == nil {
				t.Errorf("cached Get after delete: %+v, want ErrNotFound", kv)
			}
		})
	}
	wg.Wait()
}
