package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/envoyproxy/go-control-plane/pkg/cache/types"

	"github.com/trellis-mesh/trellis/internal/apis/appmesh"
	"github.com/trellis-mesh/trellis/internal/irgen"
	"github.com/trellis-mesh/trellis/internal/manager"
	"github.com/trellis-mesh/trellis/internal/meshview"
	"github.com/trellis-mesh/trellis/internal/store/bolt"
	"github.com/trellis-mesh/trellis/internal/xdsgen"
)

// The storm benchmark writes the mesh (mesh.go's shape, every client with
// every service as a backend) straight into the data dir's store through
// the manager, without fsync: creating 10,000 virtual nodes through the
// API would take longer than everything measured. The server then starts
// on that store as it would after the API created the mesh.

// stormMesh is a data dir holding the mesh, and the resource sets the
// reference server hands out: byWeights[k] is client-0's configuration
// with route 0 at weightKey(k) (every client's is the same: clients have
// no listeners and the same backends).
type stormMesh struct {
	dir       string
	byWeights []map[string][]types.Resource
}

// writeStormMesh writes n clients into dir and translates the reference's
// resource sets for weights 0..updates, leaving route 0 at weights 0.
func writeStormMesh(ctx context.Context, dir string, n, updates int) (*stormMesh, error) {
	quiet := slog.New(slog.DiscardHandler)
	st, err := bolt.Open(filepath.Join(dir, "trellis.db"), bolt.Options{NoSync: true, Logger: quiet})
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	defer st.Close()
	mgr := manager.New(st, manager.Options{Region: region, AccountID: accountID, Logger: quiet})
	for _, in := range stormInputs(n) {
		if _, err := mgr.Create(ctx, in); err != nil {
			return nil, fmt.Errorf("create %s %s: %w", in.ID.Kind, in.ID.Name, err)
		}
	}
	m := &stormMesh{dir: dir, byWeights: make([]map[string][]types.Resource, updates+1)}
	for k := range updates + 1 {
		if k > 0 {
			if err := setWeights(ctx, mgr, k); err != nil {
				return nil, err
			}
		}
		if m.byWeights[k], err = translateClient0(ctx, st); err != nil {
			return nil, err
		}
	}
	if err := setWeights(ctx, mgr, 0); err != nil {
		return nil, err
	}
	return m, nil
}

// setWeights sets route 0 to weightKey(k).
func setWeights(ctx context.Context, mgr *manager.Manager, k int) error {
	w0, w1 := int32(100-k), int32(k)
	if k == 0 {
		w0, w1 = 50, 50
	}
	if _, err := mgr.Update(ctx, manager.UpdateInput{ID: routeID(0), Spec: internalRouteSpec(0, w0, w1)}); err != nil {
		return fmt.Errorf("update route 0 to %s: %w", weightKey(k), err)
	}
	return nil
}

// translateClient0 translates client-0 against the store's current state.
func translateClient0(ctx context.Context, st *bolt.Store) (map[string][]types.Resource, error) {
	rev, err := st.Revision(ctx)
	if err != nil {
		return nil, err
	}
	quiet := slog.New(slog.DiscardHandler)
	view := meshview.New(st, quiet)
	vctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = view.Run(vctx) }()
	defer func() { cancel(); <-done }()
	if err := view.WaitRevision(ctx, rev); err != nil {
		return nil, fmt.Errorf("mesh view: %w", err)
	}
	node := irgen.NodeRef{Mesh: meshName, Kind: irgen.KindVirtualNode, Name: clientName(0)}
	opts := irgen.Options{IngressPort: 15000, EgressPort: 15001, EgressAddress: "127.0.0.1"}
	p, err := irgen.Proxy(view.Current(), node, opts, nil)
	if err != nil {
		return nil, err
	}
	p.ID = nodeID(0)
	res, err := xdsgen.Translate(p)
	if err != nil {
		return nil, err
	}
	return res.ByType(), nil
}

// stormInputs is mesh.go's mesh as manager inputs, in creation order.
func stormInputs(clients int) []manager.CreateInput {
	id := func(k appmesh.Kind, parent, name string) appmesh.Identity {
		return appmesh.Identity{Kind: k, Mesh: meshName, Parent: parent, Name: name}
	}
	pm := func() *appmesh.PortMapping { return &appmesh.PortMapping{Port: port, Protocol: appmesh.ProtocolHTTP} }
	ins := []manager.CreateInput{{ID: appmesh.Identity{Kind: appmesh.KindMesh, Mesh: meshName, Name: meshName}}}
	var all []appmesh.Backend
	for i := range backends {
		ins = append(ins, manager.CreateInput{ID: id(appmesh.KindVirtualNode, "", backendName(i)), Spec: &appmesh.VirtualNodeSpec{
			Listeners:        []appmesh.Listener{{PortMapping: pm()}},
			ServiceDiscovery: &appmesh.ServiceDiscovery{Dns: &appmesh.DnsServiceDiscovery{Hostname: serviceName(i)}},
		}})
	}
	for i := range backends {
		ins = append(ins,
			manager.CreateInput{ID: id(appmesh.KindVirtualRouter, "", routerName(i)), Spec: &appmesh.VirtualRouterSpec{
				Listeners: []appmesh.VirtualRouterListener{{PortMapping: pm()}}}},
			manager.CreateInput{ID: routeID(i), Spec: internalRouteSpec(i, 50, 50)},
			manager.CreateInput{ID: id(appmesh.KindVirtualService, "", serviceName(i)), Spec: &appmesh.VirtualServiceSpec{
				Provider: &appmesh.VirtualServiceProvider{VirtualRouter: &appmesh.VirtualRouterServiceProvider{VirtualRouterName: routerName(i)}}}},
		)
		all = append(all, appmesh.Backend{VirtualService: &appmesh.VirtualServiceBackend{VirtualServiceName: serviceName(i)}})
	}
	for j := range clients {
		ins = append(ins, manager.CreateInput{ID: id(appmesh.KindVirtualNode, "", clientName(j)), Spec: &appmesh.VirtualNodeSpec{Backends: all}})
	}
	return ins
}

func routeID(i int) appmesh.Identity {
	return appmesh.Identity{Kind: appmesh.KindRoute, Mesh: meshName, Parent: routerName(i), Name: routeName}
}

// internalRouteSpec is routeSpec in the internal wire types.
func internalRouteSpec(i int, w0, w1 int32) *appmesh.RouteSpec {
	prefix := routePrefix
	return &appmesh.RouteSpec{HttpRoute: &appmesh.HttpRoute{
		Match: &appmesh.HttpRouteMatch{Prefix: &prefix},
		Action: &appmesh.HttpRouteAction{WeightedTargets: []appmesh.WeightedTarget{
			{VirtualNode: backendName(i), Weight: w0},
			{VirtualNode: backendName((i + 1) % backends), Weight: w1},
		}},
	}}
}
