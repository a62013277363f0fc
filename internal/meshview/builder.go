package meshview

import (
	"fmt"
	"maps"

	"github.com/trellis-mesh/trellis/internal/apis/appmesh"
)

// builder derives the next snapshot from the previous one. Only meshes that
// an event touches are copied, and in them only the Index shards written
// (index.go), so a change in one mesh costs nothing for the others and
// little in its own.
type builder struct {
	prev    *Snapshot
	meshes  map[string]*Mesh
	copied  map[string]bool
	changed map[string]bool
}

func newBuilder(prev *Snapshot) *builder {
	meshes := map[string]*Mesh{}
	if prev != nil {
		maps.Copy(meshes, prev.meshes)
	}
	return &builder{prev: prev, meshes: meshes, copied: map[string]bool{}, changed: map[string]bool{}}
}

// mesh returns a private, writable copy of a mesh for this build.
func (b *builder) mesh(name string) *Mesh {
	b.changed[name] = true
	if b.copied[name] {
		return b.meshes[name]
	}
	b.copied[name] = true
	old, ok := b.meshes[name]
	if !ok {
		m := newMesh(name)
		b.meshes[name] = m
		return m
	}
	m := *old
	m.VirtualNodes = old.VirtualNodes.fork()
	m.VirtualServices = old.VirtualServices.fork()
	m.VirtualRouters = old.VirtualRouters.fork()
	m.VirtualGateways = old.VirtualGateways.fork()
	b.meshes[name] = &m
	return &m
}

// put adds or replaces a resource.
func (b *builder) put(r *appmesh.Resource) error {
	m := b.mesh(r.Mesh)
	var err error
	switch r.Kind {
	case appmesh.KindMesh:
		m.Resource = r
		m.Spec, err = decodeSpec[*appmesh.MeshSpec](r)
	case appmesh.KindVirtualNode:
		var s *appmesh.VirtualNodeSpec
		if s, err = decodeSpec[*appmesh.VirtualNodeSpec](r); err == nil {
			m.VirtualNodes.set(r.Name, &VirtualNode{Resource: r, Spec: s})
		}
	case appmesh.KindVirtualService:
		var s *appmesh.VirtualServiceSpec
		if s, err = decodeSpec[*appmesh.VirtualServiceSpec](r); err == nil {
			m.VirtualServices.set(r.Name, &VirtualService{Resource: r, Spec: s})
		}
	case appmesh.KindVirtualRouter:
		err = b.putRouter(m, r)
	case appmesh.KindRoute:
		err = b.putRoute(m, r)
	case appmesh.KindVirtualGateway:
		err = b.putGateway(m, r)
	case appmesh.KindGatewayRoute:
		err = b.putGatewayRoute(m, r)
	default:
		err = fmt.Errorf("unknown kind %d", r.Kind)
	}
	return err
}

func (b *builder) putRouter(m *Mesh, r *appmesh.Resource) error {
	s, err := decodeSpec[*appmesh.VirtualRouterSpec](r)
	if err != nil {
		return err
	}
	routes := map[string]*Route{}
	if old := m.VirtualRouters.Get(r.Name); old != nil {
		routes = old.Routes
	}
	m.VirtualRouters.set(r.Name, &VirtualRouter{Resource: r, Spec: s, Routes: routes})
	return nil
}

func (b *builder) putRoute(m *Mesh, r *appmesh.Resource) error {
	s, err := decodeSpec[*appmesh.RouteSpec](r)
	if err != nil {
		return err
	}
	vr := b.router(m, r.Parent)
	vr.Routes[r.Name] = &Route{Resource: r, Spec: s}
	return nil
}

// router returns a writable copy of a router (a placeholder if a route
// arrives before its router, which a consistent store never shows).
func (b *builder) router(m *Mesh, name string) *VirtualRouter {
	old := m.VirtualRouters.Get(name)
	vr := &VirtualRouter{Routes: map[string]*Route{}}
	if old != nil {
		c := *old
		c.Routes = maps.Clone(old.Routes)
		vr = &c
	}
	m.VirtualRouters.set(name, vr)
	return vr
}

func (b *builder) putGateway(m *Mesh, r *appmesh.Resource) error {
	s, err := decodeSpec[*appmesh.VirtualGatewaySpec](r)
	if err != nil {
		return err
	}
	grs := map[string]*GatewayRoute{}
	if old := m.VirtualGateways.Get(r.Name); old != nil {
		grs = old.GatewayRoutes
	}
	m.VirtualGateways.set(r.Name, &VirtualGateway{Resource: r, Spec: s, GatewayRoutes: grs})
	return nil
}

func (b *builder) putGatewayRoute(m *Mesh, r *appmesh.Resource) error {
	s, err := decodeSpec[*appmesh.GatewayRouteSpec](r)
	if err != nil {
		return err
	}
	vg := b.gateway(m, r.Parent)
	vg.GatewayRoutes[r.Name] = &GatewayRoute{Resource: r, Spec: s}
	return nil
}

func (b *builder) gateway(m *Mesh, name string) *VirtualGateway {
	old := m.VirtualGateways.Get(name)
	vg := &VirtualGateway{GatewayRoutes: map[string]*GatewayRoute{}}
	if old != nil {
		c := *old
		c.GatewayRoutes = maps.Clone(old.GatewayRoutes)
		vg = &c
	}
	m.VirtualGateways.set(name, vg)
	return vg
}

// remove deletes a resource (given as it was before deletion).
func (b *builder) remove(r *appmesh.Resource) {
	m := b.mesh(r.Mesh)
	switch r.Kind {
	case appmesh.KindMesh:
		m.Resource, m.Spec = nil, nil
	case appmesh.KindVirtualNode:
		m.VirtualNodes.remove(r.Name)
	case appmesh.KindVirtualService:
		m.VirtualServices.remove(r.Name)
	case appmesh.KindVirtualRouter:
		m.VirtualRouters.remove(r.Name)
	case appmesh.KindRoute:
		if m.VirtualRouters.Get(r.Parent) != nil {
			delete(b.router(m, r.Parent).Routes, r.Name)
		}
	case appmesh.KindVirtualGateway:
		m.VirtualGateways.remove(r.Name)
	case appmesh.KindGatewayRoute:
		if m.VirtualGateways.Get(r.Parent) != nil {
			delete(b.gateway(m, r.Parent).GatewayRoutes, r.Name)
		}
	}
}

// build publishes the snapshot; meshes left empty (deleted) disappear.
func (b *builder) build(rev int64) (*Snapshot, []string) {
	for name := range b.changed {
		m := b.meshes[name]
		if m.Resource == nil && m.VirtualNodes.Len()+m.VirtualServices.Len()+m.VirtualRouters.Len()+m.VirtualGateways.Len() == 0 {
			delete(b.meshes, name)
		}
	}
	return &Snapshot{Revision: rev, meshes: b.meshes}, sortedKeys(b.changed)
}
