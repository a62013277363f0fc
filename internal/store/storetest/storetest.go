package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/trellis-mesh/trellis/internal/store"
)

// waitTimeout bounds every wait for a watch response; generous, because
// under -race on a loaded machine an fsync can take a while.
const waitTimeout = 10 * time.Second

// Factory builds stores for the suite.
type Factory struct {
	// New returns a fresh, empty store. The suite closes it when the test
	// ends, possibly after the test closed it itself: a second Close must
	// not panic (its error is ignored).
	New func(t *testing.T) store.Store
	// Reopen, optional, closes old and opens the same data again, as a
	// process restart would. Without it the durability subtests are skipped.
	Reopen func(t *testing.T, old store.Store) store.Store
}

// Run runs the conformance suite against the backend built by f.
func Run(t *testing.T, f Factory) {
	if f.New == nil {
		t.Fatal("storetest: Factory.New is required")
	}
	h := &harness{f: f}
	groups := []struct {
		name  string
		tests []subtest
	}{
		{"KV", kvTests},
		{"Compare", compareTests},
		{"List", listTests},
		{"Watch", watchTests},
		{"Concurrency", concurrencyTests},
		{"Durability", durabilityTests},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, st := range g.tests {
				t.Run(st.name, func(t *testing.T) { st.fn(t, h) })
			}
		})
	}
}

// subtest is one named check of the suite.
type subtest struct {
	name string
	fn   func(t *testing.T, h *harness)
}

// harness gives subtests stores and shared helpers.
type harness struct {
	f Factory
}

// open returns a fresh store closed at the end of the test.
func (h *harness) open(t *testing.T) store.Store {
	t.Helper()
	s := h.f.New(t)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// reopen restarts s; the caller must have checked h.f.Reopen != nil.
func (h *harness) reopen(t *testing.T, s store.Store) store.Store {
	t.Helper()
	s2 := h.f.Reopen(t, s)
	t.Cleanup(func() { _ = s2.Close() })
	return s2
}

// ctx is a per-test context, cancelled when the test ends.
func ctx(t *testing.T) context.Context { return t.Context() }

// mustTxn runs a Txn that must succeed and returns its revision.
func mustTxn(t *testing.T, s store.Store, cmps []store.Compare, ops ...store.Op) int64 {
	t.Helper()
	rev, err := s.Txn(ctx(t), cmps, ops)
	if err != nil {
		t.Fatalf("Txn(%v, %v): %v", cmps, ops, err)
	}
	return rev
}

// put writes one key unconditionally and returns the revision.
func put(t *testing.T, s store.Store, key, value string) int64 {
	t.Helper()
	return mustTxn(t, s, nil, store.Put(key, []byte(value)))
}

// mustGet returns a key that must exist.
func mustGet(t *testing.T, s store.Store, key string) store.KV {
	t.Helper()
	kv, err := s.Get(ctx(t), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	return kv
}

// mustAbsent fails unless key does not exist.
func mustAbsent(t *testing.T, s store.Store, key string) {
	t.Helper()
	if kv, err := s.Get(ctx(t), key); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get(%q) = %+v, %v; want ErrNotFound", key, kv, err)
	}
}

// revision returns the store's current revision.
func revision(t *testing.T, s store.Store) int64 {
	t.Helper()
	rev, err := s.Revision(ctx(t))
	if err != nil {
		t.Fatalf("Revision: %v", err)
	}
	return rev
}

// wantKV checks a KV's fields.
func wantKV(t *testing.T, kv store.KV, key, value string, createRev, modRev int64) {
	t.Helper()
	if kv.Key != key || string(kv.Value) != value || kv.CreateRevision != createRev || kv.ModRevision != modRev {
		t.Fatalf("got {%q %q create=%d mod=%d}, want {%q %q create=%d mod=%d}",
			kv.Key, kv.Value, kv.CreateRevision, kv.ModRevision, key, value, createRev, modRev)
	}
}
