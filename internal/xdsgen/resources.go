package xdsgen

import (
	"cmp"
	"errors"
	"fmt"
	"slices"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/trellis-mesh/trellis/internal/ir"
)

// Resources is one proxy's Envoy configuration, each list sorted by name.
type Resources struct {
	Listeners []*listenerv3.Listener
	Routes    []*routev3.RouteConfiguration
	Clusters  []*clusterv3.Cluster
	Endpoints []*endpointv3.ClusterLoadAssignment
}

// Translate converts a proxy IR to Envoy resources and validates every
// proto (protoc-gen-validate ValidateAll) and the cross-references between
// them (see Resources.Validate). The result is deterministic: the same IR
// gives byte-identical protos under deterministic marshalling.
//
// An error means the IR cannot be expressed as configuration Envoy would
// accept; the caller should keep serving the last good configuration.
func Translate(p *ir.Proxy) (*Resources, error) {
	if p == nil {
		return nil, errors.New("xdsgen: nil proxy")
	}
	r := &Resources{}
	for i := range p.Listeners {
		l, err := buildListener(&p.Listeners[i])
		if err != nil {
			return nil, fmt.Errorf("xdsgen: proxy %q: %w", p.ID, err)
		}
		r.Listeners = append(r.Listeners, l)
	}
	for i := range p.RouteConfigs {
		rc, err := buildRouteConfig(&p.RouteConfigs[i])
		if err != nil {
			return nil, fmt.Errorf("xdsgen: proxy %q: %w", p.ID, err)
		}
		r.Routes = append(r.Routes, rc)
	}
	for i := range p.Clusters {
		c, cla, err := buildCluster(&p.Clusters[i])
		if err != nil {
			return nil, fmt.Errorf("xdsgen: proxy %q: %w", p.ID, err)
		}
		r.Clusters = append(r.Clusters, c)
		if cla != nil {
			r.Endpoints = append(r.Endpoints, cla)
		}
	}
	r.sort()
	if err := r.Validate(); err != nil {
		return nil, fmt.Errorf("xdsgen: proxy %q: %w", p.ID, err)
	}
	return r, nil
}

// Merge joins the resources of closed parts of one proxy (the parts of
// irgen.Cache, each translated and validated on its own), every list
// sorted by name. A part is closed when its listeners reference only its
// own route configs and clusters, so the union of valid parts is valid as
// long as no name is in two parts, which Merge checks.
func Merge(parts ...*Resources) (*Resources, error) {
	out := &Resources{}
	for _, p := range parts {
		out.Listeners = append(out.Listeners, p.Listeners...)
		out.Routes = append(out.Routes, p.Routes...)
		out.Clusters = append(out.Clusters, p.Clusters...)
		out.Endpoints = append(out.Endpoints, p.Endpoints...)
	}
	out.sort()
	errs := []error{
		repeatedName("listener", out.Listeners, (*listenerv3.Listener).GetName),
		repeatedName("route config", out.Routes, (*routev3.RouteConfiguration).GetName),
		repeatedName("cluster", out.Clusters, (*clusterv3.Cluster).GetName),
		repeatedName("load assignment", out.Endpoints, (*endpointv3.ClusterLoadAssignment).GetClusterName),
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("merge parts: %w", err)
	}
	return out, nil
}

// KeepUnchanged returns next with each resource that equals (proto.Equal)
// the resource of the same name in prev replaced by prev's object. Both
// are left as they are. Resources are immutable once built, so callers
// that key work by object (the xDS server marshals each object once) keep
// that work for what did not change.
func KeepUnchanged(next, prev *Resources) *Resources {
	return &Resources{
		Listeners: keepUnchanged(next.Listeners, prev.Listeners, (*listenerv3.Listener).GetName),
		Routes:    keepUnchanged(next.Routes, prev.Routes, (*routev3.RouteConfiguration).GetName),
		Clusters:  keepUnchanged(next.Clusters, prev.Clusters, (*clusterv3.Cluster).GetName),
		Endpoints: keepUnchanged(next.Endpoints, prev.Endpoints, (*endpointv3.ClusterLoadAssignment).GetClusterName),
	}
}

func keepUnchanged[T proto.Message](next, prev []T, name func(T) string) []T {
	byName := make(map[string]T, len(prev))
	for _, r := range prev {
		byName[name(r)] = r
	}
	out := slices.Clone(next)
	for i, r := range out {
		if old, ok := byName[name(r)]; ok && proto.Equal(old, r) {
			out[i] = old
		}
	}
	return out
}

// repeatedName reports a name that two items of a sorted list share.
func repeatedName[T any](kind string, items []T, name func(T) string) error {
	for i := 1; i < len(items); i++ {
		if n := name(items[i]); n == name(items[i-1]) {
			return fmt.Errorf("%s %q is in two parts", kind, n)
		}
	}
	return nil
}

// sort orders every list by name; the IR's own order is kept inside each
// resource (filter chains, routes), where it carries meaning.
func (r *Resources) sort() {
	slices.SortStableFunc(r.Listeners, func(a, b *listenerv3.Listener) int {
		return cmp.Compare(a.GetName(), b.GetName())
	})
	slices.SortStableFunc(r.Routes, func(a, b *routev3.RouteConfiguration) int {
		return cmp.Compare(a.GetName(), b.GetName())
	})
	slices.SortStableFunc(r.Clusters, func(a, b *clusterv3.Cluster) int {
		return cmp.Compare(a.GetName(), b.GetName())
	})
	slices.SortStableFunc(r.Endpoints, func(a, b *endpointv3.ClusterLoadAssignment) int {
		return cmp.Compare(a.GetClusterName(), b.GetClusterName())
	})
}

// ByType returns the resources keyed by go-control-plane type URL
// (resource.ListenerType etc.), in the shape cache.NewSnapshot takes.
// Every type is present, possibly empty, so a snapshot built from it
// withdraws resources the proxy no longer has.
func (r *Resources) ByType() map[string][]types.Resource {
	out := map[string][]types.Resource{
		resource.ListenerType: make([]types.Resource, 0, len(r.Listeners)),
		resource.RouteType:    make([]types.Resource, 0, len(r.Routes)),
		resource.ClusterType:  make([]types.Resource, 0, len(r.Clusters)),
		resource.EndpointType: make([]types.Resource, 0, len(r.Endpoints)),
	}
	for _, l := range r.Listeners {
		out[resource.ListenerType] = append(out[resource.ListenerType], l)
	}
	for _, rc := range r.Routes {
		out[resource.RouteType] = append(out[resource.RouteType], rc)
	}
	for _, c := range r.Clusters {
		out[resource.ClusterType] = append(out[resource.ClusterType], c)
	}
	for _, e := range r.Endpoints {
		out[resource.EndpointType] = append(out[resource.EndpointType], e)
	}
	return out
}

// typed wraps an extension config in an Any. It marshals deterministically
// because some configs hold maps (a JSON log format is a Struct) and Any
// keeps bytes, so map order would otherwise leak into the output.
// Marshalling generated messages only fails on invalid UTF-8 in a string
// field, which the IR could carry.
func typed(m proto.Message) (*anypb.Any, error) {
	a := &anypb.Any{}
	if err := anypb.MarshalFrom(a, m, proto.MarshalOptions{Deterministic: true}); err != nil {
		return nil, fmt.Errorf("marshal %s: %w", m.ProtoReflect().Descriptor().FullName(), err)
	}
	return a, nil
}
