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
func factory(t *testing.T, c *etcdtest.Cluster) storetest.Factory {
	n := 0
	open := func(t *testing.T, prefix string) store.Store {
		t.Helper()
		s, err := Open(t.Context(), Options{Endpoints: c.Endpoints(), Prefix: prefix})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		return s
	}
	return storetest.Factory{
		New: func(t *testing.T) store.Store {
			n++
			return open(t, fmt.Sprintf("/storetest/%d/", n))
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
	storetest.Run(t, factory(t, c))
}

// TestWatchCompacted checks that a watch from before etcd's compaction
// ends with store.ErrCompacted, and one from after it works.
func TestWatchCompacted(t *testing.T) {
	c := etcdtest.Start(t, 3)
	s, err := Open(t.Context(), Options{Endpoints: c.Endpoints(), Prefix: "/compact/"})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
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
