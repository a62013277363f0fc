package xdsgen

import (
	"fmt"
	"slices"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/trellis-mesh/trellis/internal/ir"
)

// A virtual host is a service's routes as its clients see them, and it
// recurs in the route configuration of every client of the service, however
// different the clients' backend lists are. Virtual hosts are therefore
// built and validated once per content (the SHA-256 of their IR) and shared
// by every route configuration that holds them; a route configuration is
// validated without the virtual hosts known valid.

// buildVirtualHost maps and validates one virtual host, or returns the
// equal one built before.
func (mm *Memo) buildVirtualHost(vh *ir.VirtualHost) (*routev3.VirtualHost, error) {
	key, err := ir.Digest(vh)
	if err != nil {
		return nil, fmt.Errorf("virtual host %q: %w", vh.Name, err)
	}
	if v, ok := mm.vhostsByIR.Get(key); ok {
		return v, nil
	}
	v := &routev3.VirtualHost{Name: vh.Name, Domains: slices.Clone(vh.Domains), VirtualClusters: virtualClusters(vh)}
	for j := range vh.Routes {
		r, err := buildRoute(&vh.Routes[j])
		if err != nil {
			return nil, fmt.Errorf("virtual host %q: %w", vh.Name, err)
		}
		v.Routes = append(v.Routes, r)
	}
	if err := mm.validateProto("virtual host", vh.Name, v); err != nil {
		return nil, err
	}
	mm.vhostsByIR.Add(key, v)
	mm.validVHosts.Add(v, struct{}{})
	return v, nil
}

// validateRouteConfig validates a route configuration, each of its virtual
// hosts not known valid on its own and the rest of it without them.
func (mm *Memo) validateRouteConfig(rc *routev3.RouteConfiguration) error {
	rest := rc.ProtoReflect().New()
	hosts := rc.ProtoReflect().Descriptor().Fields().ByName("virtual_hosts")
	rc.ProtoReflect().Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd != hosts {
			rest.Set(fd, v)
		}
		return true
	})
	if err := mm.validateProto("route config", rc.GetName(), rest.Interface().(validator)); err != nil {
		return err
	}
	for _, v := range rc.GetVirtualHosts() {
		if _, ok := mm.validVHosts.Get(v); !ok {
			if err := mm.validateProto("virtual host", v.GetName(), v); err != nil {
				return fmt.Errorf("route config %q: %w", rc.GetName(), err)
			}
		}
	}
	return validateDomains(rc)
}

// virtualClusters is the host's catch-all virtual cluster (every request
// has a :path, or :authority for CONNECT), named StatsName, so Envoy keeps
// per-host request counts and latency (vhost.<name>.vcluster.<StatsName>.*).
func virtualClusters(vh *ir.VirtualHost) []*routev3.VirtualCluster {
	if vh.StatsName == "" {
		return nil
	}
	return []*routev3.VirtualCluster{{Name: vh.StatsName, Headers: []*routev3.HeaderMatcher{{
		Name: ":authority", HeaderMatchSpecifier: &routev3.HeaderMatcher_PresentMatch{PresentMatch: true}}}}}
}
