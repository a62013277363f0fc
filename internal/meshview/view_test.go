package meshview_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/trellis-mesh/trellis/internal/apis/appmesh"
	"github.com/trellis-mesh/trellis/internal/manager"
	"github.com/trellis-mesh/trellis/internal/meshview"
	"github.com/trellis-mesh/trellis/internal/store/bolt"
)

func setup(t *testing.T) (*manager.Manager, *meshview.View, context.Context) {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	v := meshview.New(st, log)
	go v.Run(ctx)
	return manager.New(st, manager.Options{Region: "r", AccountID: "123456789012", Logger: log}), v, ctx
}

func create(t *testing.T, m *manager.Manager, id appmesh.Identity, spec any) {
	t.Helper()
	if _, err := m.Create(context.Background(), manager.CreateInput{ID: id, Spec: spec}); err != nil {
		t.Fatalf("create %v: %v", id, err)
	}
}

// next waits for a snapshot satisfying ok and returns the meshes reported
// changed on the way.
func next(t *testing.T, ctx context.Context, v *meshview.View, ok func(*meshview.Snapshot) bool) (*meshview.Snapshot, []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var all []string
	for {
		s, changed, err := v.Next(ctx)
		if err != nil {
			t.Fatalf("no snapshot matched: %v", err)
		}
		all = append(all, changed...)
		if s != nil && ok(s) {
			return s, all
		}
	}
}

func TestViewFollowsStore(t *testing.T) {
	m, v, ctx := setup(t)
	mesh := appmesh.Identity{Kind: appmesh.KindMesh, Mesh: "m", Name: "m"}
	create(t, m, mesh, nil)
	create(t, m, appmesh.Identity{Kind: appmesh.KindMesh, Mesh: "other", Name: "other"}, nil)
	port := int32(80)
	create(t, m, appmesh.Identity{Kind: appmesh.KindVirtualNode, Mesh: "m", Name: "a"}, &appmesh.VirtualNodeSpec{
		Listeners:        []appmesh.Listener{{PortMapping: &appmesh.PortMapping{Port: port, Protocol: "http"}}},
		ServiceDiscovery: &appmesh.ServiceDiscovery{Dns: &appmesh.DnsServiceDiscovery{Hostname: "a.local"}},
	})
	create(t, m, appmesh.Identity{Kind: appmesh.KindVirtualRouter, Mesh: "m", Name: "r"}, &appmesh.VirtualRouterSpec{
		Listeners: []appmesh.VirtualRouterListener{{PortMapping: &appmesh.PortMapping{Port: port, Protocol: "http"}}}})
	prefix := "/"
	create(t, m, appmesh.Identity{Kind: appmesh.KindRoute, Mesh: "m", Parent: "r", Name: "x"}, &appmesh.RouteSpec{HttpRoute: &appmesh.HttpRoute{
		Match:  &appmesh.HttpRouteMatch{Prefix: &prefix},
		Action: &appmesh.HttpRouteAction{WeightedTargets: []appmesh.WeightedTarget{{VirtualNode: "a", Weight: 1}}}}})

	s, changed := next(t, ctx, v, func(s *meshview.Snapshot) bool {
		return s.Mesh("m") != nil && s.Mesh("m").VirtualRouters.Get("r") != nil && len(s.Mesh("m").VirtualRouters.Get("r").Routes) == 1
	})
	mm := s.Mesh("m")
	if mm.VirtualNodes.Get("a").Spec.ServiceDiscovery.Dns.Hostname != "a.local" || mm.VirtualRouters.Get("r").Routes["x"].Spec.HttpRoute == nil {
		t.Fatalf("snapshot content wrong: %+v", mm)
	}
	if !slices.Contains(changed, "m") || !slices.Equal(s.MeshNames(), []string{"m", "other"}) {
		t.Fatalf("changed = %v, meshes = %v", changed, s.MeshNames())
	}

	// A later change touches only its mesh, and old snapshots stay as they were.
	if _, err := m.Delete(ctx, appmesh.Identity{Kind: appmesh.KindRoute, Mesh: "m", Parent: "r", Name: "x"}); err != nil {
		t.Fatal(err)
	}
	s2, changed := next(t, ctx, v, func(s *meshview.Snapshot) bool { return len(s.Mesh("m").VirtualRouters.Get("r").Routes) == 0 })
	if !slices.Equal(changed, []string{"m"}) {
		t.Errorf("changed after route delete = %v, want [m]", changed)
	}
	if len(s.Mesh("m").VirtualRouters.Get("r").Routes) != 1 {
		t.Error("previous snapshot was modified")
	}
	if s2.Mesh("other") != s.Mesh("other") {
		t.Error("unchanged mesh was copied")
	}
}
