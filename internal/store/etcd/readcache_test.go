package etcd

import (
	"fmt"
	"strconv"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

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

// TestReadCacheFallsBackAtItsBound: a read whose fence the cache does not
// reach within cacheWait is answered by etcd (correctly) and counted.
func TestReadCacheFallsBackAtItsBound(t *testing.T) {
	c := etcdtest.Start(t, 1)
	reg := prometheus.NewRegistry()
	s, err := Open(t.Context(), Options{Endpoints: c.Endpoints(), Prefix: "/bound/", ReadCache: true, Registerer: reg})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	rev, err := s.Txn(t.Context(), nil, []store.Op{store.Put("k", []byte("v"))})
	if err != nil {
		t.Fatalf("Txn: %v", err)
	}
	if kv, err := s.Get(t.Context(), "k"); err != nil || kv.ModRevision != rev {
		t.Fatalf("cached Get = %+v, %v", kv, err)
	}
	if n := testutil.ToFloat64(s.m.fences); n < 1 {
		t.Fatalf("fences = %v, want >= 1", n)
	}
	// A fence far beyond anything written: the cache cannot reach it.
	ctx := WithReadSession(t.Context())
	sessionOf(ctx).raise(rev + 1_000_000)
	kv, err := s.Get(ctx, "k")
	if err != nil || string(kv.Value) != "v" || kv.ModRevision != rev {
		t.Fatalf("Get past the cache's bound = %+v, %v; want v at %d from etcd", kv, err, rev)
	}
	if n := testutil.ToFloat64(s.m.fallbacks); n != 1 {
		t.Fatalf("fallbacks = %v, want 1", n)
	}
	if got, err := testutil.GatherAndCount(reg, "trellis_etcd_read_cache_fallbacks_total", "trellis_etcd_read_fences_total", "trellis_etcd_watch_reopens_total"); err != nil || got != 3 {
		t.Fatalf("registered metrics = %d, %v; want 3", got, err)
	}
}
