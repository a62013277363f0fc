package meshview

import (
	"fmt"
	"maps"
	"testing"

	"github.com/trellis-mesh/trellis/internal/apis/appmesh"
)

// TestIndexCopyOnWrite: a fork's writes never show in the Index it came
// from, and every read (Get, Len, All) agrees with a plain map.
func TestIndexCopyOnWrite(t *testing.T) {
	var base Index[int]
	want := map[string]int{}
	for i := range 500 {
		name := fmt.Sprintf("n%d", i)
		base.set(name, i)
		want[name] = i
	}
	frozen := maps.Clone(want)
	for _, tc := range []struct {
		name string
		edit func(x *Index[int], m map[string]int)
	}{
		{"replace", func(x *Index[int], m map[string]int) { x.set("n7", -7); m["n7"] = -7 }},
		{"add", func(x *Index[int], m map[string]int) { x.set("new", 1); m["new"] = 1 }},
		{"remove", func(x *Index[int], m map[string]int) { x.remove("n9"); delete(m, "n9") }},
		{"remove absent", func(x *Index[int], m map[string]int) { x.remove("nope") }},
		{"remove all", func(x *Index[int], m map[string]int) {
			for k := range maps.Clone(m) {
				x.remove(k)
				delete(m, k)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := base.fork()
			m := maps.Clone(want)
			tc.edit(&f, m)
			check(t, &f, m)
			check(t, &base, frozen) // the original is untouched
		})
	}
}

func check(t *testing.T, x *Index[int], want map[string]int) {
	t.Helper()
	if x.Len() != len(want) {
		t.Fatalf("Len %d, want %d", x.Len(), len(want))
	}
	got := maps.Collect(x.All())
	if !maps.Equal(got, want) {
		t.Fatalf("All differs: %d entries, want %d", len(got), len(want))
	}
	for k, v := range want {
		if x.Get(k) != v {
			t.Fatalf("Get(%q) = %d, want %d", k, x.Get(k), v)
		}
	}
}

// BenchmarkBuildOneWrite is the cost of the next snapshot after one
// virtual node write in a mesh of n virtual nodes.
func BenchmarkBuildOneWrite(b *testing.B) {
	for _, n := range []int{100, 5000} {
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			bl := newBuilder(nil)
			for i := range n {
				name := fmt.Sprintf("node-%05d", i)
				bl.mesh("m").VirtualNodes.set(name, &VirtualNode{Resource: &appmesh.Resource{Name: name}})
			}
			snap, _ := bl.build(1)
			vn := &VirtualNode{Resource: &appmesh.Resource{Name: "node-00001"}}
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				nb := newBuilder(snap)
				nb.mesh("m").VirtualNodes.set(vn.Name, vn)
				snap, _ = nb.build(int64(i + 2))
			}
		})
	}
}
