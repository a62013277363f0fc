package etcd

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/trellis-mesh/trellis/internal/store"
	"github.com/trellis-mesh/trellis/internal/store/etcd/etcdtest"
	"github.com/trellis-mesh/trellis/internal/store/storetest"
)

// factory gives every store of the suite its own prefix on one cluster,
// which is as good as an empty etcd: the suite only relies on revisions
// the store itself returns.
func factory(c *etcdtest.Cluster, readCache bool) storetest.Factory {
	n := 0
	open := func(t *testing.T, prefix string) store.Store {
		t.Helper()
		s, err := Open(t.Context(), Options{Endpoints: c.Endpoints(), Prefix: prefix, ReadCache: readCache})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		return s
	}
	return storetest.Factory{
		New: func(t *testing.T) store.Store {
			n++
			return open(t, fmt.Sprintf("/storetest/%v/%d/", readCache, n))
		},
		Reopen: func(t *testing.T, old store.Store) store.Store {
			if err := old.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			return open(t, old.(*Store).Prefix())
		},
	}
}

func TestConformance(t *testing.T) {
	c := etcdtest.Start(t, 3)
	t.Run("direct", func(t *testing.T) { storetest.Run(t, factory(c, false)) })
	t.Run("readcache", func(t *testing.T) { storetest.Run(t, factory(c, true)) })
}

// TestWatchCompacted checks that a watch from before etcd's compaction
// ends with store.ErrCompacted, and one from after it works, also when the
// read cache's event log serves watches (it still holds those revisions).
func TestWatchCompacted(t *testing.T) {
	c := etcdtest.Start(t, 3)
	for _, readCache := range []bool{false, true} {
		t.Run(fmt.Sprintf("readcache=%v", readCache), func(t *testing.T) {
			s, err := Open(t.Context(), Options{Endpoints: c.Endpoints(), Prefix: fmt.Sprintf("/compact/%v/", readCache), ReadCache: readCache})
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			t.Cleanup(func() { _ = s.Close() })
			watchCompacted(t, s)
		})
	}
}

func watchCompacted(t *testing.T, s *Store) {
	var revs []int64
	for i := range 5 {
		rev, err := s.Txn(t.Context(), nil, []store.Op{store.Put(fmt.Sprintf("k%d", i), []byte("v"))})
		if err != nil {
			t.Fatalf("Txn: %v", err)
		}
		revs = append(revs, rev)
	}
	if err := s.Compact(t.Context(), revs[3]); err != nil {
		t.Fatalf("Compact: %v", err)
	}
	ch, err := s.Watch(t.Context(), "", revs[0])
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	if err := lastErr(t, ch); !errors.Is(err, store.ErrCompacted) {
		t.Fatalf("watch from before compaction: %v, want ErrCompacted", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	ch, err = s.Watch(ctx, "", revs[3])
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	select {
	case resp := <-ch:
		if resp.Err != nil || len(resp.Events) != 1 || resp.Events[0].KV.ModRevision != revs[4] {
			t.Fatalf("watch after compaction: %+v, want the put at %d", resp, revs[4])
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no event from a watch after the compaction point")
	}
}

// lastErr drains ch and returns the Err of its last response.
func lastErr(t *testing.T, ch <-chan store.WatchResponse) error {
	t.Helper()
	timeout := time.After(10 * time.Second)
	var err error
	for {
		select {
		case resp, ok := <-ch:
			if !ok {
				return err
			}
			if resp.Err != nil {
				err = resp.Err
			}
		case <-timeout:
			t.Fatal("watch did not end")
		}
	}
}

// TestListPages checks List across the listPage bound: more keys than one
// etcd range request returns, read at one revision, with and without a
// Limit, and with After.
func TestListPages(t *testing.T) {
	c := etcdtest.Start(t, 1)
	for i, cache := range []bool{false, true} {
		t.Run(fmt.Sprint("readcache=", cache), func(t *testing.T) {
			s, err := Open(t.Context(), Options{Endpoints: c.Endpoints(), Prefix: fmt.Sprintf("/pages%d/", i), ReadCache: cache})
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			t.Cleanup(func() { _ = s.Close() })
			testListPages(t, s)
		})
	}
}

func testListPages(t *testing.T, s *Store) {
	const n = 2*listPage + 5
	for i := 0; i < n; i += 100 {
		var ops []store.Op
		for j := i; j < min(i+100, n); j++ {
			ops = append(ops, store.Put(fmt.Sprintf("k/%05d", j), []byte("v")))
		}
		if _, err := s.Txn(t.Context(), nil, ops); err != nil {
			t.Fatalf("Txn: %v", err)
		}
	}
	last, _ := s.Revision(t.Context())
	if _, err := s.Txn(t.Context(), nil, []store.Op{store.Put("other", nil)}); err != nil {
		t.Fatalf("Txn: %v", err)
	}
	tests := []struct {
		name  string
		opts  store.ListOptions
		want  int
		first string
	}{
		{"all", store.ListOptions{}, n, "k/00000"},
		{"limit over a page", store.ListOptions{Limit: listPage + 1}, listPage + 1, "k/00000"},
		{"limit exactly a page", store.ListOptions{Limit: listPage}, listPage, "k/00000"},
		{"after", store.ListOptions{After: "k/00004"}, n - 5, "k/00005"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kvs, rev, err := s.List(t.Context(), "k/", tt.opts)
			if err != nil {
				t.Fatalf("List: %v", err)
			}
			if len(kvs) != tt.want || kvs[0].Key != tt.first {
				t.Fatalf("List = %d keys from %q, want %d from %q", len(kvs), kvs[0].Key, tt.want, tt.first)
			}
			for i := 1; i < len(kvs); i++ {
				if kvs[i].Key <= kvs[i-1].Key {
					t.Fatalf("keys out of order at %d: %q after %q", i, kvs[i].Key, kvs[i-1].Key)
				}
			}
			if rev <= last {
				t.Fatalf("List revision %d, want after %d", rev, last)
			}
		})
	}
	if n, err := s.Count(t.Context(), "k/"); err != nil || n != int64(2*listPage+5) {
		t.Fatalf("Count = %d, %v; want %d", n, err, 2*listPage+5)
	}
}
