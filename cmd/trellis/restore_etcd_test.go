package main

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/trellis-mesh/trellis/internal/backup"
	"github.com/trellis-mesh/trellis/internal/server"
	etcdstore "github.com/trellis-mesh/trellis/internal/store/etcd"
	"github.com/trellis-mesh/trellis/internal/store/etcd/etcdtest"
)

// TestRestoreIntoEtcd: trellis restore --store etcd writes a backup into
// an empty etcd prefix and refuses a non-empty one.
func TestRestoreIntoEtcd(t *testing.T) {
	c := etcdtest.Start(t, 1)
	file := filepath.Join(t.TempDir(), "mesh.backup")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	recs := []backup.Record{{Key: "a", Value: []byte("1")}, {Key: "b/c", Value: []byte("2")}}
	if err := backup.Write(f, backup.Header{Revision: 7, Created: time.Now().UTC().Truncate(time.Second)}, recs); err != nil {
		t.Fatal(err)
	}
	f.Close()
	sc := server.StoreConfig{Kind: server.StoreEtcd, EtcdEndpoints: c.Endpoints(), EtcdPrefix: "/restored/"}
	if h, _, err := restoreEtcd(t.Context(), file, sc); err != nil || h.Keys != 2 {
		t.Fatalf("restoreEtcd = %+v, %v; want 2 keys", h, err)
	}
	st, err := etcdstore.Open(t.Context(), etcdstore.Options{Endpoints: c.Endpoints(), Prefix: "/restored/"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if kv, err := st.Get(t.Context(), "b/c"); err != nil || string(kv.Value) != "2" {
		t.Fatalf("Get(b/c) = %+v, %v", kv, err)
	}
	if _, _, err := restoreEtcd(t.Context(), file, sc); !errors.Is(err, backup.ErrNotEmpty) {
		t.Fatalf("second restore: %v, want ErrNotEmpty", err)
	}
}
