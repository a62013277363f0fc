package bolt

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	bbolt "go.etcd.io/bbolt"

	"github.com/trellis-mesh/trellis/internal/store"
)

// damageFixture writes a store of n keys (deterministic content, so page
// layout and error texts are stable) and returns its path, closed.
func damageFixture(t *testing.T, n int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "trellis.db")
	s, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		ops := make([]store.Op, 0, 10)
		for j := range 10 {
			key := fmt.Sprintf("appmesh/m/mesh/virtualNode/vn-%05d-%d", i, j)
			ops = append(ops, store.Put(key, fmt.Appendf(nil, `{"spec":%q}`, key)))
		}
		if _, err := s.Txn(t.Context(), nil, ops); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// kvRoot returns the page id of the kv bucket's root page.
func kvRoot(t *testing.T, path string) (root uint64, pageSize int) {
	t.Helper()
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.View(func(tx *bbolt.Tx) error {
		root = uint64(tx.Bucket(bucketKV).RootPage())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return root, db.Info().PageSize
}

// fileFacts reads, through bbolt, the newest transaction id and the size
// in use (high-water mark × page size) of a healthy file.
func fileFacts(t *testing.T, path string) (txid int, size int64, pageSize int) {
	t.Helper()
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.View(func(tx *bbolt.Tx) error {
		txid, size = tx.ID(), tx.Size()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return txid, size, db.Info().PageSize
}

// overwrite writes b at off in the file at path.
func overwrite(t *testing.T, path string, off int64, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func randomBytes(n int) []byte {
	r := rand.New(rand.NewPCG(11, 11))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

const advice = ". Nothing was served from it. Restore the last backup into an empty data directory with `trellis restore`, or move the file aside to start with an empty store"

// TestOpenDamaged: every kind of damage is an error naming the file, what
// is wrong and what to do; never a crash, never an empty store.
func TestOpenDamaged(t *testing.T) {
	// Each damage returns the reason Open must give. Page numbers and
	// sizes depend on bbolt's allocation, so they are read from the file
	// (with bbolt itself) before it is damaged.
	tests := []struct {
		name   string
		damage func(t *testing.T, path string) (reason string)
	}{
		{"zero length", func(t *testing.T, path string) string {
			truncate(t, path, 0)
			return "the file is empty (0 bytes); only a missing file starts a new store"
		}},
		{"truncated to half", func(t *testing.T, path string) string {
			txid, size, ps := fileFacts(t, path)
			fi, _ := os.Stat(path)
			truncate(t, path, fi.Size()/2)
			return fmt.Sprintf("the file is truncated: it has %d bytes, but its newest meta page (transaction %d) counts %d pages of %d bytes (%d bytes)",
				fi.Size()/2, txid, size/int64(ps), ps, size)
		}},
		{"random bytes in a data page", func(t *testing.T, path string) string {
			root, ps := kvRoot(t, path)
			overwrite(t, path, int64(root)*int64(ps), randomBytes(ps))
			return fmt.Sprintf("reading it failed: assertion failed: Page expected to be: %d, but self identifies as 7884350976965870158", root)
		}},
		// A branch element pointing far past the end of the map: bbolt
		// would fault on it (SIGSEGV), which must become an error.
		{"page reference beyond the file", func(t *testing.T, path string) string {
			root, ps := kvRoot(t, path)
			overwrite(t, path, int64(root)*int64(ps)+pageHeaderLen+8, []byte{0, 0, 16, 0, 0, 0, 0, 0})
			return "reading it failed: a page reference points outside the file (memory fault)"
		}},
		{"both meta pages bad", func(t *testing.T, path string) string {
			overwrite(t, path, 16, []byte("garbage!"))
			overwrite(t, path, 4096+72, []byte("garbage!"))
			return "neither meta page is valid (page 0: not a bbolt meta page (bad magic); page 1: checksum mismatch)"
		}},
		{"not a bbolt file", func(t *testing.T, path string) string {
			writeFile(t, path, randomBytes(3*4096))
			return "neither meta page is valid (page 0: not a bbolt meta page (bad magic); page 1: not a bbolt meta page (bad magic))"
		}},
		{"shorter than a meta page", func(t *testing.T, path string) string {
			truncate(t, path, 40)
			return "neither meta page is valid (page 0: cut short; page 1: cut short)"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := damageFixture(t, 200)
			reason := tt.damage(t, path)
			s, err := Open(path, Options{})
			if err == nil {
				s.Close()
				t.Fatal("Open of a damaged file succeeded")
			}
			if !errors.Is(err, ErrDamaged) {
				t.Errorf("error does not match ErrDamaged: %v", err)
			}
			want := "store file " + path + " is damaged: " + reason + advice
			if err.Error() != want {
				t.Errorf("error:\n got %s\nwant %s", err, want)
			}
		})
	}
}

// TestOpenOneBadMeta: bbolt keeps two meta pages so that a commit torn
// while writing one leaves the other; a single bad meta page opens on the
// other one, and the file still passes the full check.
func TestOpenOneBadMeta(t *testing.T) {
	for _, page := range []int64{0, 1} {
		t.Run(fmt.Sprintf("page %d", page), func(t *testing.T) {
			path := damageFixture(t, 20)
			overwrite(t, path, page*4096+72, []byte("garbage!"))
			s, err := Open(path, Options{})
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer s.Close()
			n, err := s.Count(t.Context(), "appmesh/")
			if err != nil || n < 190 {
				t.Errorf("Count = %d, %v; want at least 190 of 200 keys", n, err)
			}
		})
	}
}

// TestOpenMissingFileIsNew: only a missing file means a new store.
func TestOpenMissingFileIsNew(t *testing.T) {
	s := openTest(t, Options{})
	if rev, err := s.Revision(t.Context()); err != nil || rev != 0 {
		t.Fatalf("Revision of a new store = %d, %v", rev, err)
	}
}

// TestOpenLockedIsNotDamage: a file held by another process is not damage.
func TestOpenLockedIsNotDamage(t *testing.T) {
	path := damageFixture(t, 1)
	db, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_, err = openChecked(path, &bbolt.Options{Timeout: 50e6}, true)
	if err == nil || errors.Is(err, ErrDamaged) {
		t.Fatalf("open of a locked file: %v; want a timeout that is not damage", err)
	}
}

// freePages counts the pages bbolt's freelist holds.
func freePages(t *testing.T, path string) int {
	t.Helper()
	db, err := bbolt.Open(path, 0o600, nil) // read-write: loads the freelist
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st := db.Stats()
	return st.FreePageN + st.PendingPageN
}

func truncate(t *testing.T, path string, size int64) {
	t.Helper()
	if err := os.Truncate(path, size); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestOpenSurvivesAnyDamagedPage overwrites each page of a store in turn
// with random bytes: Open must return (an ErrDamaged error, or a store
// when the page was free), never crash the process.
func TestOpenSurvivesAnyDamagedPage(t *testing.T) {
	clean := damageFixture(t, 200)
	orig, err := os.ReadFile(clean)
	if err != nil {
		t.Fatal(err)
	}
	const ps = 4096
	junk := randomBytes(ps)
	damaged, opened := 0, 0
	m, err := newestMeta(bytes.NewReader(orig), int64(len(orig)))
	if err != nil {
		t.Fatal(err)
	}
	// Pages at and past the high-water mark are unused file growth.
	for pg := 2; pg < int(m.pgid); pg++ {
		b := bytes.Clone(orig)
		copy(b[pg*ps:], junk)
		path := filepath.Join(t.TempDir(), "trellis.db")
		writeFile(t, path, b)
		s, err := Open(path, Options{NoSync: true})
		switch {
		case err == nil:
			opened++
			s.Close()
		case errors.Is(err, ErrDamaged):
			damaged++
		default:
			t.Errorf("page %d: error is not ErrDamaged: %v", pg, err)
		}
	}
	t.Logf("%d pages damaged one at a time: %d refused as damaged, %d opened (free pages)", damaged+opened, damaged, opened)
	if free := freePages(t, clean); opened > free {
		t.Errorf("%d damaged files opened, but only %d pages are free", opened, free)
	}
	if damaged == 0 {
		t.Error("no damaged page was detected")
	}
}
