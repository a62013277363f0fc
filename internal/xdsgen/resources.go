package xdsgen

import (
	"cmp"
	"errors"
	"fmt"
	"reflect"
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
	return NewMemo().TranslateFrom(p, nil, nil)
}

// Translate is Translate with the memo's remembered work.
func (mm *Memo) Translate(p *ir.Proxy) (*Resources, error) {
	return mm.TranslateFrom(p, nil, nil)
}

// TranslateFrom is Memo.TranslateFrom with a memo of its own.
func TranslateFrom(p, prevIR *ir.Proxy, prev *Resources) (*Resources, error) {
	return NewMemo().TranslateFrom(p, prevIR, prev)
}

// TranslateFrom is Translate given an earlier translation: prev, made of
// prevIR. A listener, route configuration or cluster whose IR is equal to
// the one of that name in prevIR keeps prev's object, which was validated
// when it was built; only what changed is built and validated, and the
// checks across resources run on the whole set. A route edit that reaches
// a proxy thus costs its route configuration, not every cluster and
// listener beside it, and callers that key work by object (the xDS server
// marshals each object once) keep it for what did not change. prevIR and
// prev are left as they are; both nil is Translate.
func (mm *Memo) TranslateFrom(p, prevIR *ir.Proxy, prev *Resources) (*Resources, error) {
	if p == nil {
		return nil, errors.New("xdsgen: nil proxy")
	}
	old := indexPrevious(prevIR, prev)
	r := &Resources{}
	kept := map[proto.Message]bool{}
	for i := range p.Listeners {
		l := &p.Listeners[i]
		if o, ok := old.listeners[l.Name]; ok && reflect.DeepEqual(o.ir, l) {
			r.Listeners = append(r.Listeners, o.res)
			kept[o.res] = true
			continue
		}
		built, err := buildListener(l)
		if err != nil {
			return nil, fmt.Errorf("xdsgen: proxy %q: %w", p.ID, err)
		}
		r.Listeners = append(r.Listeners, built)
	}
	for i := range p.RouteConfigs {
		rc := &p.RouteConfigs[i]
		if o, ok := old.routes[rc.Name]; ok && reflect.DeepEqual(o.ir, rc) {
			r.Routes = append(r.Routes, o.res)
			kept[o.res] = true
			continue
		}
		built, err := mm.buildRouteConfig(rc)
		if err != nil {
			return nil, fmt.Errorf("xdsgen: proxy %q: %w", p.ID, err)
		}
		r.Routes = append(r.Routes, built)
	}
	for i := range p.Clusters {
		c := &p.Clusters[i]
		if o, ok := old.clusters[c.Name]; ok && reflect.DeepEqual(o.ir, c) {
			r.Clusters = append(r.Clusters, o.res)
			kept[o.res] = true
			if cla := old.endpoints[c.Name]; cla != nil {
				r.Endpoints = append(r.Endpoints, cla)
				kept[cla] = true
			}
			continue
		}
		built, cla, err := buildCluster(c)
		if err != nil {
			return nil, fmt.Errorf("xdsgen: proxy %q: %w", p.ID, err)
		}
		r.Clusters = append(r.Clusters, built)
		if cla != nil {
			r.Endpoints = append(r.Endpoints, cla)
		}
	}
	r.sort()
	if err := r.validate(mm, kept); err != nil {
		return nil, fmt.Errorf("xdsgen: proxy %q: %w", p.ID, err)
	}
	return r, nil
}

// built pairs a resource's IR with the object made of it.
type built[I any, R proto.Message] struct {
	ir  *I
	res R
}

// previous indexes an earlier translation by resource name.
type previous struct {
	listeners map[string]built[ir.Listener, *listenerv3.Listener]
	routes    map[string]built[ir.RouteConfig, *routev3.RouteConfiguration]
	clusters  map[string]built[ir.Cluster, *clusterv3.Cluster]
	endpoints map[string]*endpointv3.ClusterLoadAssignment
}

func indexPrevious(prevIR *ir.Proxy, prev *Resources) previous {
	var o previous
	if prevIR == nil || prev == nil {
		return o
	}
	o.listeners = pair(prevIR.Listeners, prev.Listeners, func(l *ir.Listener) string { return l.Name }, (*listenerv3.Listener).GetName)
	o.routes = pair(prevIR.RouteConfigs, prev.Routes, func(rc *ir.RouteConfig) string { return rc.Name }, (*routev3.RouteConfiguration).GetName)
	o.clusters = pair(prevIR.Clusters, prev.Clusters, func(c *ir.Cluster) string { return c.Name }, (*clusterv3.Cluster).GetName)
	o.endpoints = make(map[string]*endpointv3.ClusterLoadAssignment, len(prev.Endpoints))
	for _, e := range prev.Endpoints {
		o.endpoints[e.GetClusterName()] = e
	}
	return o
}

// pair matches IR resources with the objects of the same name.
func pair[I any, R proto.Message](irs []I, objs []R, irName func(*I) string, objName func(R) string) map[string]built[I, R] {
	byName := make(map[string]R, len(objs))
	for _, o := range objs {
		byName[objName(o)] = o
	}
	out := make(map[string]built[I, R], len(irs))
	for i := range irs {
		if o, ok := byName[irName(&irs[i])]; ok {
			out[irName(&irs[i])] = built[I, R]{ir: &irs[i], res: o}
		}
	}
	return out
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
