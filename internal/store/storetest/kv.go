package storetest

import (
	"errors"
	"testing"

	"github.com/trellis-mesh/trellis/internal/store"
)

var kvTests = []subtest{
	{"GetNotFound", testGetNotFound},
	{"PutGetDelete", testPutGetDelete},
	{"RevisionsIncrementByOne", testRevisionsIncrement},
	{"OneRevisionPerTxn", testOneRevisionPerTxn},
	{"CreateRevisionKeptOnOverwrite", testCreateRevisionKept},
	{"DeleteAbsentKey", testDeleteAbsent},
	{"ValueIsCopied", testValueIsCopied},
	{"ClosedStore", testClosedStore},
}

func testGetNotFound(t *testing.T, h *harness) {
	s := h.open(t)
	mustAbsent(t, s, "nope")
	put(t, s, "nope/child", "x")
	mustAbsent(t, s, "nope") // a prefix of a key is not a key
}

func testPutGetDelete(t *testing.T, h *harness) {
	s := h.open(t)
	rev := put(t, s, "a", "1")
	wantKV(t, mustGet(t, s, "a"), "a", "1", rev, rev)
	del := mustTxn(t, s, nil, store.Del("a"))
	if del != rev+1 {
		t.Fatalf("delete revision = %d, want %d", del, rev+1)
	}
	mustAbsent(t, s, "a")
	again := put(t, s, "a", "2")
	// A re-created key starts a new life: its CreateRevision is new.
	wantKV(t, mustGet(t, s, "a"), "a", "2", again, again)
}

func testRevisionsIncrement(t *testing.T, h *harness) {
	s := h.open(t)
	prev := revision(t, s)
	for i, key := range []string{"a", "b", "a", "c"} {
		rev := put(t, s, key, "v")
		if rev != prev+1 {
			t.Fatalf("txn %d: revision %d, want %d", i, rev, prev+1)
		}
		if got := revision(t, s); got != rev {
			t.Fatalf("Revision() = %d after txn at %d", got, rev)
		}
		prev = rev
	}
}

func testOneRevisionPerTxn(t *testing.T, h *harness) {
	s := h.open(t)
	put(t, s, "gone", "x")
	before := revision(t, s)
	rev := mustTxn(t, s, nil,
		store.Put("a", []byte("1")), store.Put("b", []byte("2")), store.Del("gone"))
	if rev != before+1 {
		t.Fatalf("multi-op txn revision %d, want %d", rev, before+1)
	}
	wantKV(t, mustGet(t, s, "a"), "a", "1", rev, rev)
	wantKV(t, mustGet(t, s, "b"), "b", "2", rev, rev)
	mustAbsent(t, s, "gone")
}

func testCreateRevisionKept(t *testing.T, h *harness) {
	s := h.open(t)
	r1 := put(t, s, "k", "1")
	put(t, s, "other", "x")
	r3 := put(t, s, "k", "2")
	wantKV(t, mustGet(t, s, "k"), "k", "2", r1, r3)
}

func testDeleteAbsent(t *testing.T, h *harness) {
	s := h.open(t)
	before := put(t, s, "x", "1")
	rev, err := s.Txn(ctx(t), nil, []store.Op{store.Del("absent")})
	if err != nil {
		t.Fatalf("deleting an absent key: %v", err)
	}
	// The contract allows either a new revision or the current one.
	if rev != before && rev != before+1 {
		t.Fatalf("no-op txn revision %d, want %d or %d", rev, before, before+1)
	}
	if got := revision(t, s); got != rev {
		t.Fatalf("Revision() = %d, no-op txn returned %d", got, rev)
	}
}

func testValueIsCopied(t *testing.T, h *harness) {
	s := h.open(t)
	buf := []byte("abc")
	mustTxn(t, s, nil, store.Put("k", buf))
	buf[0] = 'X' // the caller reuses its buffer
	kv := mustGet(t, s, "k")
	if string(kv.Value) != "abc" {
		t.Fatalf("stored value changed with caller's buffer: %q", kv.Value)
	}
	kv.Value[0] = 'Y' // the caller scribbles on a returned value
	if got := mustGet(t, s, "k"); string(got.Value) != "abc" {
		t.Fatalf("stored value changed with returned slice: %q", got.Value)
	}
}

func testClosedStore(t *testing.T, h *harness) {
	s := h.open(t)
	put(t, s, "k", "v")
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := s.Get(ctx(t), "k"); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Get after Close: %v, want ErrClosed", err)
	}
	if _, err := s.Txn(ctx(t), nil, []store.Op{store.Put("k", nil)}); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Txn after Close: %v, want ErrClosed", err)
	}
	if _, _, err := s.List(ctx(t), "", store.ListOptions{}); !errors.Is(err, store.ErrClosed) {
		t.Errorf("List after Close: %v, want ErrClosed", err)
	}
	// Watch may refuse at once or hand back a channel that ends at once.
	ch, err := s.Watch(ctx(t), "", 0)
	if err == nil {
		err = waitClosed(t, ch)
	}
	if !errors.Is(err, store.ErrClosed) {
		t.Errorf("Watch after Close: %v, want ErrClosed", err)
	}
}
