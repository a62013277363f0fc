package history

import (
	"encoding/json"
	"fmt"
	"runtime"
	"testing"

	"github.com/trellis-mesh/trellis/internal/apis/appmesh"
	"github.com/trellis-mesh/trellis/internal/store"
)

// BenchmarkRecorderApply measures applying one watched update of a route
// (the recorder's per-write cost) at 1,000 resources with full histories,
// and reports the memory the kept versions hold.
func BenchmarkRecorderApply(b *testing.B) {
	const resources = 1000
	r := New(nil, Options{})
	spec := json.RawMessage(`{"httpRoute":{"match":{"prefix":"/"},"action":{"weightedTargets":[{"virtualNode":"blue","weight":90},{"virtualNode":"green","weight":10}]}}}`)
	value := func(i, version int) []byte {
		res := appmesh.Resource{Kind: appmesh.KindRoute, Mesh: "m", Parent: "r", Name: fmt.Sprint("route-", i), Spec: spec,
			Metadata: appmesh.ResourceMetadata{Arn: fmt.Sprint("arn:aws:appmesh:us-west-2:1:mesh/m/virtualRouter/r/route/route-", i), Version: int64(version)}}
		v, _ := json.Marshal(res)
		return v
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for v := 1; v <= DefaultPerResource; v++ {
		for i := range resources {
			r.apply(store.Event{Type: store.EventPut, KV: store.KV{Key: fmt.Sprint("appmesh/m/m/route/r/route-", i), Value: value(i, v), ModRevision: int64(v*resources + i)}})
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	perVersion := float64(after.HeapAlloc-before.HeapAlloc) / float64(resources*DefaultPerResource)
	ev := store.Event{Type: store.EventPut, KV: store.KV{Key: "appmesh/m/m/route/r/route-1", Value: value(1, 99)}}
	b.ReportAllocs()
	for b.Loop() {
		r.mu.Lock()
		r.apply(ev)
		r.mu.Unlock()
	}
	b.ReportMetric(perVersion, "heapB/version")
}
