package storetest

import (
	"fmt"
	"slices"
	"testing"

	"github.com/trellis-mesh/trellis/internal/store"
)

var listTests = []subtest{
	{"PrefixAndOrder", testListPrefixOrder},
	{"Pagination", testListPagination},
	{"Revision", testListRevision},
	{"Count", testCount},
}

// keys returns the keys of kvs, for compact comparisons.
func keys(kvs []store.KV) []string {
	out := make([]string, len(kvs))
	for i, kv := range kvs {
		out[i] = kv.Key
	}
	return out
}

func mustList(t *testing.T, s store.Store, prefix string, opts store.ListOptions) ([]store.KV, int64) {
	t.Helper()
	kvs, rev, err := s.List(ctx(t), prefix, opts)
	if err != nil {
		t.Fatalf("List(%q, %+v): %v", prefix, opts, err)
	}
	return kvs, rev
}

func testListPrefixOrder(t *testing.T, h *harness) {
	s := h.open(t)
	// Written out of order, with neighbours just outside the prefix and a
	// byte above ASCII to check byte (not rune or locale) ordering.
	for _, k := range []string{"b/2", "a", "b/10", "b/1", "c", "b/\xff", "b", "b0", "b/1/x"} {
		put(t, s, k, "v:"+k)
	}
	kvs, _ := mustList(t, s, "b/", store.ListOptions{})
	want := []string{"b/1", "b/1/x", "b/10", "b/2", "b/\xff"}
	if got := keys(kvs); !slices.Equal(got, want) {
		t.Fatalf("List(b/) = %q, want %q", got, want)
	}
	for _, kv := range kvs {
		if string(kv.Value) != "v:"+kv.Key || kv.ModRevision == 0 || kv.CreateRevision == 0 {
			t.Fatalf("List returned %+v", kv)
		}
	}
	all, _ := mustList(t, s, "", store.ListOptions{})
	if got := keys(all); len(got) != 9 || !slices.IsSorted(got) {
		t.Fatalf("List(\"\") = %q, want all 9 keys sorted", got)
	}
	if none, _ := mustList(t, s, "zzz", store.ListOptions{}); len(none) != 0 {
		t.Fatalf("List(zzz) = %q, want none", keys(none))
	}
}

func testListPagination(t *testing.T, h *harness) {
	s := h.open(t)
	var want []string
	ops := make([]store.Op, 0, 10)
	for i := range 10 {
		k := fmt.Sprintf("p/%02d", i)
		want = append(want, k)
		ops = append(ops, store.Put(k, []byte("v")))
	}
	ops = append(ops, store.Put("q/00", nil), store.Put("o/99", nil))
	mustTxn(t, s, nil, ops...)
	var got []string
	after := ""
	for page := 0; ; page++ {
		kvs, _ := mustList(t, s, "p/", store.ListOptions{After: after, Limit: 3})
		if len(kvs) > 3 {
			t.Fatalf("page %d has %d keys, limit 3", page, len(kvs))
		}
		if len(kvs) == 0 {
			break
		}
		got = append(got, keys(kvs)...)
		after = kvs[len(kvs)-1].Key
	}
	if !slices.Equal(got, want) {
		t.Fatalf("paginated keys %q, want %q", got, want)
	}
	// After is exclusive, and may lie before the prefix.
	kvs, _ := mustList(t, s, "p/", store.ListOptions{After: "p/04", Limit: 2})
	if got := keys(kvs); !slices.Equal(got, []string{"p/05", "p/06"}) {
		t.Fatalf("List(After p/04, Limit 2) = %q", got)
	}
	kvs, _ = mustList(t, s, "p/", store.ListOptions{After: "a", Limit: 1})
	if got := keys(kvs); !slices.Equal(got, []string{"p/00"}) {
		t.Fatalf("List(After a, Limit 1) = %q", got)
	}
	kvs, _ = mustList(t, s, "p/", store.ListOptions{After: "p/09"})
	if len(kvs) != 0 {
		t.Fatalf("List(After last) = %q, want none", keys(kvs))
	}
}

func testListRevision(t *testing.T, h *harness) {
	s := h.open(t)
	_, rev0 := mustList(t, s, "", store.ListOptions{})
	if rev0 != revision(t, s) {
		t.Fatalf("empty store: List revision %d, Revision() %d", rev0, revision(t, s))
	}
	put(t, s, "a/1", "x")
	r := put(t, s, "b/1", "x") // outside the listed prefix: still counts
	if _, rev := mustList(t, s, "a/", store.ListOptions{}); rev != r {
		t.Fatalf("List revision %d, want current revision %d", rev, r)
	}
}

func testCount(t *testing.T, h *harness) {
	s := h.open(t)
	for _, k := range []string{"b/1", "b/2", "b/3/x", "b0", "a"} {
		put(t, s, k, "v")
	}
	mustTxn(t, s, nil, store.Del("b/2"))
	for prefix, want := range map[string]int64{"b/": 2, "b": 3, "": 4, "zzz": 0} {
		n, err := s.Count(ctx(t), prefix)
		if err != nil || n != want {
			t.Fatalf("Count(%q) = %d, %v; want %d", prefix, n, err, want)
		}
	}
}
