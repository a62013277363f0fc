package reconcile

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/trellis-mesh/trellis/internal/acm"
	"github.com/trellis-mesh/trellis/internal/acm/acmtest"
)

// BenchmarkACMChange times what a change in the ACM stand-in costs: every
// mesh is rebuilt (watchSecrets), so bench/convergence's 1,000 client
// proxies, which reference no ACM ARN, are looked at again and not
// published (unrelated), and a proxy whose certificate was replaced is
// published with its new secret (rotation: one secure proxy among them).
// It reports the rebuild's time per proxy.
func BenchmarkACMChange(b *testing.B) {
	m := newTestMesh(b, benchBackends, benchClients)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if _, err := m.mgr.Create(ctx, secureNode()); err != nil {
		b.Fatal(err)
	}
	m.sync(ctx, b)
	ca := acmtest.NewCA(b, "ca")
	cert, key := ca.Leaf(b, "secure.bench.local")
	src := fakeSecrets{testCertARN: {Chain: cert, Key: key}, testCAARN: {Bundle: ca.CertPEM}}
	xds := newFakeXDS()
	r := New(m.view, xds, Options{Logger: quietLogger(), Secrets: src})
	for j := range benchClients {
		id := fmt.Sprintf("mesh/bench/virtualNode/client-%d", j)
		xds.set(id, id, true, false)
	}
	const secure = "mesh/bench/virtualNode/secure"
	xds.set(secure, secure, true, false)
	r.nodesChanged()
	if !xds.settled() {
		b.Fatal("not every proxy configured")
	}
	all := map[string]bool{"bench": true}
	b.Run("unrelated", func(b *testing.B) {
		for b.Loop() {
			r.meshesChanged(all)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(benchClients+1), "ns/proxy")
	})
	b.Run("rotation", func(b *testing.B) {
		leaves := make([]acm.Material, 8)
		for i := range leaves {
			c, k := ca.Leaf(b, "secure.bench.local")
			leaves[i] = acm.Material{Chain: c, Key: k}
		}
		before, _ := xds.snap(secure)
		for i := 0; b.Loop(); i++ {
			src[testCertARN] = leaves[i%len(leaves)]
			r.meshesChanged(all)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(benchClients+1), "ns/proxy")
		if s, _ := xds.snap(secure); s.version == before.version {
			b.Fatal("the rotated certificate was not published")
		}
	})
}
