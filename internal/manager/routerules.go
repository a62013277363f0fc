package manager

import (
	"context"
	"fmt"
	"strings"

	"github.com/trellis-mesh/trellis/internal/apis/appmesh"
	"github.com/trellis-mesh/trellis/internal/store"
)

// routeDependencies checks a route against its router (which must exist,
// and whose listeners decide the allowed type and port) and its target
// virtual nodes (which must exist, and whose listeners decide target ports).
func (m *Manager) routeDependencies(ctx context.Context, p *plan, id appmesh.Identity, s *appmesh.RouteSpec) error {
	routerID := appmesh.Identity{Kind: appmesh.KindVirtualRouter, Mesh: id.Mesh, Name: id.Parent}
	router, err := m.require(ctx, p, routerID)
	if err != nil {
		return err
	}
	rs, err := decodeSpec[*appmesh.VirtualRouterSpec](router)
	if err != nil {
		return err
	}
	field := "spec." + routeTypeField(s.Protocol()) + ".match.port"
	if err := checkMatchPort(field, describeOwner(routerID), routerPorts(rs), s.Protocol(), s.MatchPort()); err != nil {
		return err
	}
	p.refs = referencesOf(id, s)
	nodes := map[string]*appmesh.VirtualNodeSpec{}
	for _, ref := range p.refs {
		r, err := m.require(ctx, p, ref)
		if err != nil {
			return err
		}
		if nodes[ref.Name], err = decodeSpec[*appmesh.VirtualNodeSpec](r); err != nil {
			return err
		}
	}
	for i, t := range s.WeightedTargets() {
		field := fmt.Sprintf("spec.%s.action.weightedTargets[%d].port", routeTypeField(s.Protocol()), i)
		if err := checkTargetPort(field, t.VirtualNode, nodes[t.VirtualNode], t.Port); err != nil {
			return err
		}
	}
	return nil
}

// checkTargetPort: a target node with several listeners needs a port, and a
// given port must be one of the node's listeners.
func checkTargetPort(field, node string, vn *appmesh.VirtualNodeSpec, port *int32) error {
	if vn == nil || len(vn.Listeners) == 0 {
		return nil
	}
	if port == nil {
		if len(vn.Listeners) > 1 {
			return errorf(CodeBadRequest, "%s: is required because virtual node %s has multiple listeners", field, node)
		}
		return nil
	}
	for _, l := range vn.Listeners {
		if l.PortMapping != nil && l.PortMapping.Port == *port {
			return nil
		}
	}
	return errorf(CodeBadRequest, "%s: virtual node %s has no listener on port %d", field, node, *port)
}

// gatewayRouteDependencies checks a gateway route against its gateway and
// requires its target virtual service to exist.
func (m *Manager) gatewayRouteDependencies(ctx context.Context, p *plan, id appmesh.Identity, s *appmesh.GatewayRouteSpec) error {
	gwID := appmesh.Identity{Kind: appmesh.KindVirtualGateway, Mesh: id.Mesh, Name: id.Parent}
	gw, err := m.require(ctx, p, gwID)
	if err != nil {
		return err
	}
	gs, err := decodeSpec[*appmesh.VirtualGatewaySpec](gw)
	if err != nil {
		return err
	}
	field := "spec." + routeTypeField(s.Protocol()) + ".match.port"
	if err := checkMatchPort(field, describeOwner(gwID), gatewayPorts(gs), s.Protocol(), s.MatchPort()); err != nil {
		return err
	}
	return m.requireRefs(ctx, p, id, s)
}

// routerListenerChange refuses to give a router several listeners while any
// of its routes lacks a port match (App Mesh's rule and message).
func (m *Manager) routerListenerChange(ctx context.Context, p *plan, id appmesh.Identity, s *appmesh.VirtualRouterSpec) error {
	if len(s.Listeners) < 2 {
		return nil
	}
	return m.childrenHavePorts(ctx, p, appmesh.KindRoute, id, func(r *record) (bool, error) {
		rs, err := decodeSpec[*appmesh.RouteSpec](r)
		return err == nil && rs.MatchPort() != nil, err
	})
}

// gatewayListenerChange is routerListenerChange for gateways.
func (m *Manager) gatewayListenerChange(ctx context.Context, p *plan, id appmesh.Identity, s *appmesh.VirtualGatewaySpec) error {
	if len(s.Listeners) < 2 {
		return nil
	}
	return m.childrenHavePorts(ctx, p, appmesh.KindGatewayRoute, id, func(r *record) (bool, error) {
		gs, err := decodeSpec[*appmesh.GatewayRouteSpec](r)
		return err == nil && gs.MatchPort() != nil, err
	})
}

func (m *Manager) childrenHavePorts(ctx context.Context, p *plan, kind appmesh.Kind, parent appmesh.Identity, hasPort func(*record) (bool, error)) error {
	prefix := collectionPrefix(kind, parent.Mesh, parent.Name)
	kvs, rev, err := m.st.List(ctx, prefix, store.ListOptions{})
	if err != nil {
		return internal("store list failed", err)
	}
	p.cmps = append(p.cmps, store.PrefixUnchangedSince(prefix, rev))
	var missing []string
	for _, kv := range kvs {
		r, err := decodeRecord(kv.Value)
		if err != nil {
			return internal("stored resource is corrupt", err)
		}
		ok, err := hasPort(r)
		if err != nil {
			return internal("stored spec is corrupt", err)
		}
		if !ok {
			missing = append(missing, r.Name)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return errorf(CodeBadRequest, "All %ss for this %s must define a port match before adding multiple listeners to this %s. %d %s(s) are missing port. Listing up to 5 %s names: [%s]",
		kind, parent.Kind, parent.Kind, len(missing), kind, strings.ToLower(kind.String()), strings.Join(missing[:min(5, len(missing))], ", "))
}

func routerPorts(s *appmesh.VirtualRouterSpec) listenerPorts {
	ports := listenerPorts{}
	for _, l := range s.Listeners {
		if l.PortMapping != nil {
			ports[l.PortMapping.Port] = l.PortMapping.Protocol
		}
	}
	return ports
}

func gatewayPorts(s *appmesh.VirtualGatewaySpec) listenerPorts {
	ports := listenerPorts{}
	for _, l := range s.Listeners {
		if l.PortMapping != nil {
			ports[l.PortMapping.Port] = l.PortMapping.Protocol
		}
	}
	return ports
}

// routeTypeField names the spec member of a route type (httpRoute ...).
func routeTypeField(proto string) string {
	switch proto {
	case appmesh.ProtocolHTTP2:
		return "http2Route"
	case appmesh.ProtocolGRPC:
		return "grpcRoute"
	case appmesh.ProtocolTCP:
		return "tcpRoute"
	}
	return "httpRoute"
}

// decodeSpec decodes a stored record's spec into its Go type.
func decodeSpec[T any](r *record) (T, error) {
	var zero T
	s, err := r.DecodeSpec()
	if err != nil {
		return zero, internal("stored spec is corrupt", err)
	}
	t, ok := s.(T)
	if !ok {
		return zero, internal(fmt.Sprintf("stored %s has unexpected spec type %T", r.Kind, s), nil)
	}
	return t, nil
}
