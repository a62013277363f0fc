package main

import (
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/trellis-mesh/trellis/internal/backup"
	"github.com/trellis-mesh/trellis/internal/store"
	"github.com/trellis-mesh/trellis/internal/store/bolt"
)

func seedStore(t *testing.T, dir string, keys ...string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	st, err := bolt.Open(filepath.Join(dir, "trellis.db"), bolt.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, k := range keys {
		if _, err := st.Txn(t.Context(), nil, []store.Op{store.Put(k, []byte("v-"+k))}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestBackupRestoreCommands runs the commands' code paths: offline and
// online backup, restore, refusal of a non-empty store and of a bad file.
func TestBackupRestoreCommands(t *testing.T) {
	tmp := t.TempDir()
	src := filepath.Join(tmp, "src")
	seedStore(t, src, "appmesh/meshes/a", "appmesh/meshes/b")
	file := filepath.Join(tmp, "x.backup")
	h, err := writeVerified(file, func(w io.Writer) error { return dumpDataDir(t.Context(), src, w) })
	if err != nil || h.Keys != 2 {
		t.Fatalf("offline backup: %+v %v", h, err)
	}
	if _, err := os.Stat(file + ".tmp"); !os.IsNotExist(err) {
		t.Errorf("temporary file left behind: %v", err)
	}

	dst := filepath.Join(tmp, "dst")
	if h, err := restoreFile(t.Context(), file, dst); err != nil || h.Keys != 2 {
		t.Fatalf("restore: %+v %v", h, err)
	}
	if _, err := restoreFile(t.Context(), file, dst); !errors.Is(err, backup.ErrNotEmpty) {
		t.Errorf("second restore: %v, want ErrNotEmpty", err)
	}

	// Online: the restored store served over the backup endpoint.
	st, err := bolt.Open(filepath.Join(dst, "trellis.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(backup.Handler(st, slog.New(slog.DiscardHandler)))
	online := filepath.Join(tmp, "online.backup")
	h, err = writeVerified(online, func(w io.Writer) error { return fetchBackup(t.Context(), srv.URL, w) })
	srv.Close()
	st.Close()
	if err != nil || h.Keys != 2 {
		t.Fatalf("online backup: %+v %v", h, err)
	}

	// A cut file is refused before a store is even created.
	b, _ := os.ReadFile(file)
	cut := filepath.Join(tmp, "cut.backup")
	if err := os.WriteFile(cut, b[:len(b)-5], 0o600); err != nil {
		t.Fatal(err)
	}
	fresh := filepath.Join(tmp, "fresh")
	if _, err := restoreFile(t.Context(), cut, fresh); !errors.Is(err, backup.ErrFormat) {
		t.Errorf("restore of a cut file: %v, want ErrFormat", err)
	}
	if _, err := os.Stat(fresh); !os.IsNotExist(err) {
		t.Errorf("a refused restore created %s", fresh)
	}
	// A failed download leaves no file.
	bad := filepath.Join(tmp, "bad.backup")
	if _, err := writeVerified(bad, func(w io.Writer) error { return fetchBackup(t.Context(), "http://127.0.0.1:1", w) }); err == nil {
		t.Error("backup from a closed port succeeded")
	}
	if _, err := os.Stat(bad); !os.IsNotExist(err) {
		t.Errorf("failed backup left %s", bad)
	}
}
