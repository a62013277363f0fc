package manager

import (
	"context"
	"fmt"
	"slices"

	"github.com/trellis-mesh/trellis/internal/apis/appmesh"
	"github.com/trellis-mesh/trellis/internal/store"
)

// plan collects what a write read and must still hold when it commits
// (cmps), and which resources the written spec references (refs).
type plan struct {
	cmps []store.Compare
	refs []appmesh.Identity
}

// require loads a resource the write depends on, fails with NotFound if it
// is missing, and guards the commit on it being unchanged.
func (m *Manager) require(ctx context.Context, p *plan, id appmesh.Identity) (*record, error) {
	r, rev, err := m.load(ctx, id)
	if err != nil {
		return nil, err
	}
	if r == nil {
		return nil, notFound(id, m.account)
	}
	p.cmps = append(p.cmps, store.KeyAt(resourceKey(id), rev))
	return r, nil
}

// referencesOf returns the resources a spec points at by name, sorted and
// without duplicates: a virtual service's provider, a route's target nodes,
// a gateway route's target service. Backends are soft references (App Mesh
// lets a node list services that do not exist yet) and are not included.
func referencesOf(id appmesh.Identity, spec any) []appmesh.Identity {
	var out []appmesh.Identity
	add := func(k appmesh.Kind, name string) {
		out = append(out, appmesh.Identity{Kind: k, Mesh: id.Mesh, Name: name})
	}
	switch s := spec.(type) {
	case *appmesh.VirtualServiceSpec:
		if p := s.Provider; p != nil && p.VirtualNode != nil {
			add(appmesh.KindVirtualNode, p.VirtualNode.VirtualNodeName)
		} else if p != nil && p.VirtualRouter != nil {
			add(appmesh.KindVirtualRouter, p.VirtualRouter.VirtualRouterName)
		}
	case *appmesh.RouteSpec:
		for _, t := range s.WeightedTargets() {
			add(appmesh.KindVirtualNode, t.VirtualNode)
		}
	case *appmesh.GatewayRouteSpec:
		if t := s.Target(); t != nil && t.VirtualService != nil {
			add(appmesh.KindVirtualService, t.VirtualService.VirtualServiceName)
		}
	}
	slices.SortFunc(out, func(a, b appmesh.Identity) int { return compareIDs(a, b) })
	return slices.CompactFunc(out, func(a, b appmesh.Identity) bool { return a == b })
}

func compareIDs(a, b appmesh.Identity) int {
	if a.Kind != b.Kind {
		return int(a.Kind) - int(b.Kind)
	}
	if c := cmpString(a.Parent, b.Parent); c != 0 {
		return c
	}
	return cmpString(a.Name, b.Name)
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// dependencies checks everything a Create or Update of id with spec needs
// from other resources, and returns the comparisons that keep those checks
// true until commit.
func (m *Manager) dependencies(ctx context.Context, id appmesh.Identity, spec any) (plan, error) {
	var p plan
	if id.Kind == appmesh.KindMesh {
		return p, nil
	}
	if _, err := m.require(ctx, &p, meshID(id.Mesh)); err != nil {
		return p, err
	}
	var err error
	switch s := spec.(type) {
	case *appmesh.RouteSpec:
		err = m.routeDependencies(ctx, &p, id, s)
	case *appmesh.GatewayRouteSpec:
		err = m.gatewayRouteDependencies(ctx, &p, id, s)
	case *appmesh.VirtualServiceSpec:
		err = m.requireRefs(ctx, &p, id, spec)
	case *appmesh.VirtualRouterSpec:
		err = m.routerListenerChange(ctx, &p, id, s)
	case *appmesh.VirtualGatewaySpec:
		err = m.gatewayListenerChange(ctx, &p, id, s)
	}
	return p, err
}

// requireRefs requires every referenced resource to exist.
func (m *Manager) requireRefs(ctx context.Context, p *plan, id appmesh.Identity, spec any) error {
	p.refs = referencesOf(id, spec)
	for _, ref := range p.refs {
		if _, err := m.require(ctx, p, ref); err != nil {
			return err
		}
	}
	return nil
}

func meshID(mesh string) appmesh.Identity {
	return appmesh.Identity{Kind: appmesh.KindMesh, Mesh: mesh, Name: mesh}
}

// notFound builds App Mesh's NotFound message for a resource.
func notFound(id appmesh.Identity, account string) *Error {
	switch {
	case id.Kind == appmesh.KindMesh:
		return errorf(CodeNotFound, "Mesh with name %s is not present for account %s", id.Mesh, account)
	case id.Kind.Parent() != 0:
		return errorf(CodeNotFound, "%s with name %s is not present under %s %s in mesh %s for account %s",
			id.Kind, id.Name, id.Kind.Parent(), id.Parent, id.Mesh, account)
	}
	return errorf(CodeNotFound, "%s with name %s is not present under mesh %s for account %s", id.Kind, id.Name, id.Mesh, account)
}

// listenerPorts maps port → protocol for a list of port mappings.
type listenerPorts map[int32]string

func (l listenerPorts) protocols() []string {
	var out []string
	for _, proto := range l {
		if !slices.Contains(out, proto) {
			out = append(out, proto)
		}
	}
	slices.Sort(out)
	return out
}

// checkMatchPort applies App Mesh's listener rules to a route's protocol
// and match.port: the route type must match a listener's protocol, and
// with several listeners the route must name its port.
func checkMatchPort(field, owner string, ports listenerPorts, proto string, port *int32) error {
	if len(ports) == 0 {
		return nil
	}
	if port == nil {
		if len(ports) > 1 {
			return errorf(CodeBadRequest, "%s: Route must define a port match criteria if the %s has multiple listeners", field, owner)
		}
		if !slices.Contains(ports.protocols(), proto) {
			return errorf(CodeBadRequest, "spec: %s route does not match the listener protocol of %s (%v)", proto, owner, ports.protocols())
		}
		return nil
	}
	lp, ok := ports[*port]
	if !ok {
		return errorf(CodeBadRequest, "%s: %s has no listener on port %d", field, owner, *port)
	}
	if lp != proto {
		return errorf(CodeBadRequest, "%s: %s route does not match protocol %s of the listener on port %d of %s", field, proto, lp, *port, owner)
	}
	return nil
}

func describeOwner(id appmesh.Identity) string {
	return fmt.Sprintf("%s %s", id.Kind, id.Name)
}
