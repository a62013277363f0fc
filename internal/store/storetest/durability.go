package storetest

import (
	"testing"

	"github.com/trellis-mesh/trellis/internal/store"
)

var durabilityTests = []subtest{
	{"ReopenKeepsDataAndRevision", testReopen},
	{"ReopenKeepsHistory", testReopenHistory},
}

func (h *harness) needReopen(t *testing.T) {
	if h.f.Reopen == nil {
		t.Skip("backend has no Reopen")
	}
}

func testReopen(t *testing.T, h *harness) {
	h.needReopen(t)
	s := h.open(t)
	r1 := put(t, s, "a", "1")
	r2 := mustTxn(t, s, nil, store.Put("b", []byte("2")), store.Put("a", []byte("1b")))
	mustTxn(t, s, nil, store.Put("gone", nil))
	r4 := mustTxn(t, s, nil, store.Del("gone"))

	s = h.reopen(t, s)
	if got := revision(t, s); got != r4 {
		t.Fatalf("revision after reopen %d, want %d", got, r4)
	}
	wantKV(t, mustGet(t, s, "a"), "a", "1b", r1, r2)
	wantKV(t, mustGet(t, s, "b"), "b", "2", r2, r2)
	mustAbsent(t, s, "gone")
	if r := put(t, s, "c", "3"); r != r4+1 {
		t.Fatalf("first revision after reopen %d, want %d", r, r4+1)
	}
	mustTxn(t, s, []store.Compare{store.KeyAt("a", r2)}, store.Put("a", []byte("cas after reopen")))
}

// testReopenHistory checks that Watch can replay revisions written before
// the restart and continue with new ones.
func testReopenHistory(t *testing.T, h *harness) {
	h.needReopen(t)
	s := h.open(t)
	r1 := put(t, s, "w/a", "1")
	r2 := put(t, s, "w/b", "2")
	r3 := mustTxn(t, s, nil, store.Del("w/a"))

	s = h.reopen(t, s)
	w := watch(t, s, "w/", r1)
	w.wantEvent(store.EventPut, "w/b", "2", r2)
	if ev := w.wantEvent(store.EventDelete, "w/a", "", r3); string(ev.PrevValue) != "1" {
		t.Fatalf("PrevValue after reopen %q, want %q", ev.PrevValue, "1")
	}
	r4 := put(t, s, "w/c", "3")
	w.wantEvent(store.EventPut, "w/c", "3", r4)
}
