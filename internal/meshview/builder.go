package meshview

import (
	"fmt"
	"maps"

	"github.com/trellis-mesh/trellis/internal/apis/appmesh"
)

// builder derives the next snapshot from the previous one. Only meshes that
// an event touches are copied (shallowly, one level of maps), so a change
// in one mesh costs nothing for the others.
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
	m.VirtualNodes = maps.Clone(old.VirtualNodes)
	m.VirtualServices = maps.Clone(old.VirtualServices)
	m.VirtualRouters = maps.Clone(old.VirtualRouters)
	m.VirtualGateways = maps.Clone(old.VirtualGateways)
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
			m.VirtualNodes[r.Name] = &VirtualNode{Resource: r, Spec: s}
		}
	case appmesh.KindVirtualService:
		var s *appmesh.VirtualServiceSpec
		if s, err = decodeSpec[*appmesh.VirtualServiceSpec](r); err == nil {
			m.VirtualServices[r.Name] = &VirtualService{Resource: r, Spec: s}
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
	if old := m.VirtualRouters[r.Name]; old != nil {
		routes = old.Routes
	}
	m.VirtualRouters[r.Name] = &VirtualRouter{Resource: r, Spec: s, Routes: routes}
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
	old := m.VirtualRouters[name]
	vr := &VirtualRouter{Routes: map[string]*Route{}}
	if old != nil {
		c := *old
		c.Routes = maps.Clone(old.Routes)
		vr = &c
	}
	m.VirtualRouters[name] = vr
	return vr
}

func (b *builder) putGateway(m *Mesh, r *appmesh.Resource) error {
	s, err := decodeSpec[*appmesh.VirtualGatewaySpec](r)
	if err != nil {
		return err
	}
	grs := map[string]*GatewayRoute{}
	if old := m.VirtualGateways[r.Name]; old != nil {
		grs = old.GatewayRoutes
	}
	m.VirtualGateways[r.Name] = &VirtualGateway{Resource: r, Spec: s, GatewayRoutes: grs}
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
	old := m.VirtualGateways[name]
	vg := &VirtualGateway{GatewayRoutes: map[string]*GatewayRoute{}}
	if old != nil {
		c := *old
		c.GatewayRoutes = maps.Clone(old.GatewayRoutes)
		vg = &c
	}
	m.VirtualGateways[name] = vg
	return vg
}

// remove deletes a resource (given as it was before deletion).
func (b *builder) remove(r *appmesh.Resource) {
	m := b.mesh(r.Mesh)
	switch r.Kind {
	case appmesh.KindMesh:
		m.Resource, m.Spec = nil, nil
	case appmesh.KindVirtualNode:
		delete(m.VirtualNodes, r.Name)
	case appmesh.KindVirtualService:
		delete(m.VirtualServices, r.Name)
	case appmesh.KindVirtualRouter:
		delete(m.VirtualRouters, r.Name)
	case appmesh.KindRoute:
		if m.VirtualRouters[r.Parent] != nil {
			delete(b.router(m, r.Parent).Routes, r.Name)
		}
	case appmesh.KindVirtualGateway:
		delete(m.VirtualGateways, r.Name)
	case appmesh.KindGatewayRoute:
		if m.VirtualGateways[r.Parent] != nil {
			delete(b.gateway(m, r.Parent).GatewayRoutes, r.Name)
		}
	}
}

// build publishes the snapshot; meshes left empty (deleted) disappear.
func (b *builder) build(rev int64) (*Snapshot, []string) {
	for name := range b.changed {
		m := b.meshes[name]
		if m.Resource == nil && len(m.VirtualNodes)+len(m.VirtualServices)+len(m.VirtualRouters)+len(m.VirtualGateways) == 0 {
			delete(b.meshes, name)
		}
	}
	return &Snapshot{Revision: rev, meshes: b.meshes}, sortedKeys(b.changed)
}
