package etcd

import (
	"errors"
	"testing"

	"github.com/trellis-mesh/trellis/internal/store"
	"github.com/trellis-mesh/trellis/internal/store/etcd/etcdtest"
)

// TestReadSession: reads of one session see every write acknowledged
// before the session's first read and the session's own writes; a
// conflict makes the next read fresh.
func TestReadSession(t *testing.T) {
	c := etcdtest.Start(t, 1)
	w, err := Open(t.Context(), Options{Endpoints: c.Endpoints(), Prefix: "/sess/"})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = w.Close() })
	r, err := Open(t.Context(), Options{Endpoints: c.Endpoints(), Prefix: "/sess/", ReadCache: true})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = r.Close() })
	for i := range 20 {
		rev, err := w.Txn(t.Context(), nil, []store.Op{store.Put("k", []byte{byte(i)})})
		if err != nil {
			t.Fatalf("Txn: %v", err)
		}
		ctx := WithReadSession(t.Context())
		if kv, err := r.Get(ctx, "k"); err != nil || kv.ModRevision != rev {
			t.Fatalf("session's first Get = %+v, %v; want revision %d", kv, err, rev)
		}
		own, err := r.Txn(ctx, []store.Compare{store.KeyAt("k", rev)}, []store.Op{store.Put("k", []byte("own"))})
		if err != nil {
			t.Fatalf("own Txn: %v", err)
		}
		if kv, err := r.Get(ctx, "k"); err != nil || kv.ModRevision != own {
			t.Fatalf("Get after the session's own write = %+v, %v; want revision %d", kv, err, own)
		}
		other, err := w.Txn(t.Context(), nil, []store.Op{store.Put("k", []byte("other"))})
		if err != nil {
			t.Fatalf("Txn: %v", err)
		}
		_, err = r.Txn(ctx, []store.Compare{store.KeyAt("k", own)}, []store.Op{store.Put("k", []byte("lost"))})
		if !errors.Is(err, store.ErrConflict) {
			t.Fatalf("stale Txn: %v, want ErrConflict", err)
		}
		if kv, err := r.Get(ctx, "k"); err != nil || kv.ModRevision != other {
			t.Fatalf("Get after a conflict = %+v, %v; want revision %d", kv, err, other)
		}
	}
}
