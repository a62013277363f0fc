package storetest

import (
	"errors"
	"fmt"
	"testing"

	"github.com/trellis-mesh/trellis/internal/store"
)

var compareTests = []subtest{
	{"KeyAt", testKeyAt},
	{"KeyAbsent", testKeyAbsent},
	{"PrefixUnchangedSince", testPrefixUnchangedSince},
	{"PrefixUnchangedSinceOldRevision", testPrefixUnchangedSinceOld},
	{"AllMustHold", testAllMustHold},
	{"OnlyComparisons", testOnlyComparisons},
}

// wantConflict runs a Txn that must fail with ErrConflict, and checks that
// it wrote nothing: neither its ops nor a new revision.
func wantConflict(t *testing.T, s store.Store, cmps []store.Compare) {
	t.Helper()
	before := revision(t, s)
	ops := []store.Op{store.Put("conflict/a", []byte("x")), store.Del("conflict/keep")}
	put(t, s, "conflict/keep", "v")
	before++
	rev, err := s.Txn(ctx(t), cmps, ops)
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("Txn(%+v) = %d, %v; want ErrConflict", cmps, rev, err)
	}
	mustAbsent(t, s, "conflict/a")
	mustGet(t, s, "conflict/keep")
	if got := revision(t, s); got != before {
		t.Fatalf("failed Txn moved revision from %d to %d", before, got)
	}
}

func testKeyAt(t *testing.T, h *harness) {
	s := h.open(t)
	r1 := put(t, s, "k", "1")
	r2 := mustTxn(t, s, []store.Compare{store.KeyAt("k", r1)}, store.Put("k", []byte("2")))
	wantKV(t, mustGet(t, s, "k"), "k", "2", r1, r2)
	wantConflict(t, s, []store.Compare{store.KeyAt("k", r1)})   // stale
	wantConflict(t, s, []store.Compare{store.KeyAt("k", r2+5)}) // future
	wantConflict(t, s, []store.Compare{store.KeyAt("k", 0)})    // exists
	wantConflict(t, s, []store.Compare{store.KeyAt("missing", r2)})
}

func testKeyAbsent(t *testing.T, h *harness) {
	s := h.open(t)
	rev := mustTxn(t, s, []store.Compare{store.KeyAbsent("k")}, store.Put("k", []byte("1")))
	wantKV(t, mustGet(t, s, "k"), "k", "1", rev, rev)
	wantConflict(t, s, []store.Compare{store.KeyAbsent("k")})
	mustTxn(t, s, nil, store.Del("k"))
	mustTxn(t, s, []store.Compare{store.KeyAbsent("k")}, store.Put("k", []byte("again")))
}

func testPrefixUnchangedSince(t *testing.T, h *harness) {
	s := h.open(t)
	r1 := put(t, s, "p/a", "1")
	hold := func(rev int64) {
		t.Helper()
		mustTxn(t, s, []store.Compare{store.PrefixUnchangedSince("p/", rev)}, store.Put("out/marker", nil))
	}
	hold(r1)
	put(t, s, "px", "outside the prefix")
	put(t, s, "q/a", "outside the prefix")
	hold(r1)
	r2 := put(t, s, "p/b", "created")
	wantConflict(t, s, []store.Compare{store.PrefixUnchangedSince("p/", r1)})
	hold(r2)
	mustTxn(t, s, nil, store.Del("p/b"))
	// Deletions are not seen (etcd range-compare semantics): p/a is the
	// only key left and it is older than r1.
	hold(r1)
	put(t, s, "p/a", "modified")
	wantConflict(t, s, []store.Compare{store.PrefixUnchangedSince("p/", r2)})
	hold(revision(t, s))
	// An empty prefix holds only while nothing at all changed.
	wantConflict(t, s, []store.Compare{store.PrefixUnchangedSince("", r1)})
}

// testPrefixUnchangedSinceOld compares against a revision far in the past,
// which a backend may evaluate differently from a recent one.
func testPrefixUnchangedSinceOld(t *testing.T, h *harness) {
	s := h.open(t)
	old := put(t, s, "p/a", "1")
	for i := range 100 {
		put(t, s, fmt.Sprintf("other/%03d", i), "x")
	}
	mustTxn(t, s, []store.Compare{store.PrefixUnchangedSince("p/", old)}, store.Put("out", nil))
	put(t, s, "p/b", "new")
	for i := range 100 {
		put(t, s, fmt.Sprintf("other/%03d", i), "y")
	}
	wantConflict(t, s, []store.Compare{store.PrefixUnchangedSince("p/", old)})
}

func testAllMustHold(t *testing.T, h *harness) {
	s := h.open(t)
	ra := put(t, s, "a", "1")
	rb := put(t, s, "b", "1")
	mustTxn(t, s, []store.Compare{store.KeyAt("a", ra), store.KeyAt("b", rb), store.KeyAbsent("c")},
		store.Put("c", []byte("1")))
	wantConflict(t, s, []store.Compare{store.KeyAt("a", ra), store.KeyAt("b", ra)})
	wantConflict(t, s, []store.Compare{store.KeyAt("a", ra), store.KeyAbsent("c")})
}

func testOnlyComparisons(t *testing.T, h *harness) {
	s := h.open(t)
	r := put(t, s, "a", "1")
	rev, err := s.Txn(ctx(t), []store.Compare{store.KeyAt("a", r)}, nil)
	if err != nil || (rev != r && rev != r+1) {
		t.Fatalf("read-only Txn = %d, %v; want %d (or %d), nil", rev, err, r, r+1)
	}
	if got := revision(t, s); got != rev {
		t.Fatalf("Revision() = %d, read-only txn returned %d", got, rev)
	}
	if _, err := s.Txn(ctx(t), []store.Compare{store.KeyAbsent("a")}, nil); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("read-only Txn with failing compare: %v, want ErrConflict", err)
	}
}
