package reconcile

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/trellis-mesh/trellis/internal/apis/appmesh"
	"github.com/trellis-mesh/trellis/internal/irgen"
	"github.com/trellis-mesh/trellis/internal/manager"
	"github.com/trellis-mesh/trellis/internal/meshview"
	"github.com/trellis-mesh/trellis/internal/store/bolt"
	"github.com/trellis-mesh/trellis/internal/xdsgen"
)

// benchBackends and benchClients shape bench/convergence's mesh: backend
// virtual nodes svc-<i>, each behind a virtual router with one route
// weighted over svc-<i> and svc-<i+1> and a virtual service
// svc-<i>.bench.local, and client virtual nodes client-<j> with every
// service as a backend.
const (
	benchBackends = 10
	benchClients  = 1000
)

// BenchmarkTranslateProxy times the reconciler's work for one client proxy
// of that mesh when it changes: the full irgen + xdsgen translation
// (validation included) that a proxy with nothing to share costs, and
// what each further proxy of a rebuild costs once the outbound part its
// backends share has been translated (irgen of its own part, the outbound
// part from the irgen cache, fingerprints and xdsgen from the memo).
func BenchmarkTranslateProxy(b *testing.B) {
	snap := benchMesh(b, benchBackends, benchClients)
	opts, err := optionsFromMetadata(map[string]any{MetadataKey: map[string]any{"interception": "none", "egressAddress": "127.0.0.1"}})
	if err != nil {
		b.Fatal(err)
	}
	p := &proxy{id: "mesh/bench/virtualNode/client-0", ref: irgen.NodeRef{Mesh: "bench", Kind: irgen.KindVirtualNode, Name: "client-0"}, opts: opts}
	gen := xdsgen.NewMemo() // as the Reconciler's table carries it
	res, err := translate(gen, snap, p, nil)
	if err != nil || len(res.Routes) != 1 || len(res.Clusters) != benchBackends {
		b.Fatalf("translate: %v (%d route configs, %d clusters; want 1 and %d)", err, len(res.Routes), len(res.Clusters), benchBackends)
	}
	b.Run("irgen+xdsgen", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := translate(gen, snap, p, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("shared-outbound", func(b *testing.B) {
		m := newMemo(irgen.NewCache(snap, nil, nil), newTranslations())
		b.ReportAllocs()
		for b.Loop() {
			parts, err := m.cache.Parts(p.ref, p.opts)
			if err != nil {
				b.Fatal(err)
			}
			_, fps, err := m.fingerprints(parts, nil)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := m.translate(parts, fps, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// translate is the reconciler's translation of one proxy without the
// irgen memo and the translation table (xdsgen's memo is gen).
func translate(gen *xdsgen.Memo, snap *meshview.Snapshot, p *proxy, eps irgen.Endpoints) (*xdsgen.Resources, error) {
	irp, err := irgen.Proxy(snap, p.ref, p.opts, eps)
	if err != nil {
		return nil, err
	}
	irp.ID = p.id
	return gen.Translate(irp)
}

// benchMesh writes the mesh through the manager into a bolt store (no
// fsync) and returns the snapshot meshview builds from it.
func benchMesh(b testing.TB, backends, clients int) *meshview.Snapshot {
	return newTestMesh(b, backends, clients).view.Current()
}

// testMesh is a mesh in a bolt store (no fsync) with its manager and a
// running mesh view, all stopped with the test.
type testMesh struct {
	view *meshview.View
	mgr  *manager.Manager
	st   *bolt.Store
}

// newTestMesh writes benchInputs through the manager and waits for the
// view to have them.
func newTestMesh(b testing.TB, backends, clients int) *testMesh {
	b.Helper()
	quiet := slog.New(slog.DiscardHandler)
	st, err := bolt.Open(filepath.Join(b.TempDir(), "store.db"), bolt.Options{NoSync: true, Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	mgr := manager.New(st, manager.Options{Region: "us-west-2", AccountID: "123456789012", Logger: quiet})
	for _, in := range benchInputs(backends, clients) {
		if _, err := mgr.Create(ctx, in); err != nil {
			b.Fatalf("create %s %s: %v", in.ID.Kind, in.ID.Name, err)
		}
	}
	v := meshview.New(st, quiet)
	vctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = v.Run(vctx) }()
	b.Cleanup(func() { stop(); <-done })
	m := &testMesh{view: v, mgr: mgr, st: st}
	m.sync(ctx, b)
	return m
}

// sync waits until the view has every write made so far.
func (m *testMesh) sync(ctx context.Context, b testing.TB) {
	b.Helper()
	rev, err := m.st.Revision(ctx)
	if err != nil {
		b.Fatal(err)
	}
	if err := m.view.WaitRevision(ctx, rev); err != nil {
		b.Fatalf("meshview did not reach revision %d: %v", rev, err)
	}
}

// benchInputs lists the mesh's resources in creation order.
func benchInputs(backends, clients int) []manager.CreateInput {
	const mesh = "bench"
	id := func(k appmesh.Kind, parent, name string) appmesh.Identity {
		return appmesh.Identity{Kind: k, Mesh: mesh, Parent: parent, Name: name}
	}
	http := func() *appmesh.PortMapping { return &appmesh.PortMapping{Port: 8080, Protocol: appmesh.ProtocolHTTP} }
	svc := func(i int) string { return fmt.Sprintf("svc-%d.bench.local", i) }
	prefix := "/"
	ins := []manager.CreateInput{{ID: appmesh.Identity{Kind: appmesh.KindMesh, Mesh: mesh, Name: mesh}}}
	for i := range backends {
		ins = append(ins, manager.CreateInput{ID: id(appmesh.KindVirtualNode, "", fmt.Sprintf("svc-%d", i)), Spec: &appmesh.VirtualNodeSpec{
			Listeners:        []appmesh.Listener{{PortMapping: http()}},
			ServiceDiscovery: &appmesh.ServiceDiscovery{Dns: &appmesh.DnsServiceDiscovery{Hostname: svc(i)}},
		}})
	}
	var backendsOf []appmesh.Backend
	for i := range backends {
		router := fmt.Sprintf("router-%d", i)
		ins = append(ins,
			manager.CreateInput{ID: id(appmesh.KindVirtualRouter, "", router), Spec: &appmesh.VirtualRouterSpec{
				Listeners: []appmesh.VirtualRouterListener{{PortMapping: http()}}}},
			manager.CreateInput{ID: id(appmesh.KindRoute, router, "route"), Spec: &appmesh.RouteSpec{HttpRoute: &appmesh.HttpRoute{
				Match: &appmesh.HttpRouteMatch{Prefix: &prefix},
				Action: &appmesh.HttpRouteAction{WeightedTargets: []appmesh.WeightedTarget{
					{VirtualNode: fmt.Sprintf("svc-%d", i), Weight: 50},
					{VirtualNode: fmt.Sprintf("svc-%d", (i+1)%backends), Weight: 50},
				}},
			}}},
			manager.CreateInput{ID: id(appmesh.KindVirtualService, "", svc(i)), Spec: &appmesh.VirtualServiceSpec{
				Provider: &appmesh.VirtualServiceProvider{VirtualRouter: &appmesh.VirtualRouterServiceProvider{VirtualRouterName: router}}}},
		)
		backendsOf = append(backendsOf, appmesh.Backend{VirtualService: &appmesh.VirtualServiceBackend{VirtualServiceName: svc(i)}})
	}
	for j := range clients {
		ins = append(ins, manager.CreateInput{ID: id(appmesh.KindVirtualNode, "", fmt.Sprintf("client-%d", j)),
			Spec: &appmesh.VirtualNodeSpec{Backends: backendsOf}})
	}
	return ins
}
