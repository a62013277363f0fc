package server_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trellis-mesh/trellis/internal/server"
	"github.com/trellis-mesh/trellis/internal/store/bolt"
)

// TestStartRefusesDamagedStore: a damaged trellis.db stops the server
// before it listens, with an error naming the file and the way out; the
// command then exits non-zero with it.
func TestStartRefusesDamagedStore(t *testing.T) {
	dir := t.TempDir()
	_, stop := startServer(t, dir)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "trellis.db")
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range []int64{fi.Size() / 2, 0} {
		if err := os.Truncate(path, size); err != nil {
			t.Fatal(err)
		}
		cfg := config(dir)
		cfg.XDSAddr = "127.0.0.1:0"
		s, err := server.Start(cfg)
		if err == nil {
			s.Stop()
			t.Fatalf("size %d: server started on a damaged store", size)
		}
		if !errors.Is(err, bolt.ErrDamaged) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "trellis restore") {
			t.Errorf("size %d: error %q does not name the file and the remedy", size, err)
		}
	}
}
