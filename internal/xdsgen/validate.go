package xdsgen

import (
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	tcpproxyv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/tcp_proxy/v3"
	"google.golang.org/protobuf/proto"
)

// validator is what every generated Envoy message implements
// (protoc-gen-validate).
type validator interface {
	proto.Message
	ValidateAll() error
}

// Validate checks what Envoy would check before accepting the resources:
// every proto against its protoc-gen-validate rules, unique names, closed
// references in both directions (an unreferenced route config or load
// assignment makes a go-control-plane snapshot inconsistent), and a few
// rules Envoy enforces at load time that the proto rules cannot express.
// All problems are reported, joined.
func (r *Resources) Validate() error { return r.validate(NewMemo(), nil) }

// validate is Validate with the per-object checks skipped for the objects
// in kept (validated when they were built).
func (r *Resources) validate(mm *Memo, kept map[proto.Message]bool) error {
	var errs []error
	for _, l := range r.Listeners {
		if !kept[l] {
			errs = append(errs, mm.validateProto("listener", l.GetName(), l), validateChainMatches(l))
		}
	}
	for _, rc := range r.Routes {
		if !kept[rc] {
			errs = append(errs, mm.validateRouteConfig(rc))
		}
	}
	for _, c := range r.Clusters {
		if !kept[c] {
			errs = append(errs, mm.validateProto("cluster", c.GetName(), c), validateClusterHosts(c))
		}
	}
	for _, e := range r.Endpoints {
		if !kept[e] {
			errs = append(errs, mm.validateProto("load assignment", e.GetClusterName(), e),
				validateAddresses("load assignment", e.GetClusterName(), e))
		}
	}
	errs = append(errs, r.validateNames(), r.validateReferences(mm))
	return errors.Join(errs...)
}

// validateProto runs the proto rules on a resource and on every typed
// config inside it.
func (mm *Memo) validateProto(kind, name string, m validator) error {
	if err := m.ValidateAll(); err != nil {
		return fmt.Errorf("%s %q: %w", kind, name, err)
	}
	if err := mm.validateTypedConfigs(m.ProtoReflect()); err != nil {
		return fmt.Errorf("%s %q: %w", kind, name, err)
	}
	return nil
}

// validateNames rejects duplicate names: the snapshot is keyed by name, so
// a duplicate would silently replace its twin.
func (r *Resources) validateNames() error {
	var errs []error
	check := func(kind string, names []string) {
		seen := map[string]bool{}
		for _, n := range names {
			if seen[n] {
				errs = append(errs, fmt.Errorf("duplicate %s %q", kind, n))
			}
			seen[n] = true
		}
	}
	check("listener", names(r.Listeners, (*listenerv3.Listener).GetName))
	check("route config", names(r.Routes, (*routev3.RouteConfiguration).GetName))
	check("cluster", names(r.Clusters, (*clusterv3.Cluster).GetName))
	check("load assignment", names(r.Endpoints, (*endpointv3.ClusterLoadAssignment).GetClusterName))
	return errors.Join(errs...)
}

func names[T any](xs []T, name func(T) string) []string {
	out := make([]string, 0, len(xs))
	for _, x := range xs {
		out = append(out, name(x))
	}
	return out
}

// validateChainMatches rejects two chains with the same match: Envoy
// refuses such a listener ("multiple filter chains with the same
// matching rules").
func validateChainMatches(l *listenerv3.Listener) error {
	chains := l.GetFilterChains()
	for i, a := range chains {
		for _, b := range chains[:i] {
			if proto.Equal(a.GetFilterChainMatch(), b.GetFilterChainMatch()) {
				return fmt.Errorf("listener %q: chains %q and %q have the same match", l.GetName(), b.GetName(), a.GetName())
			}
		}
	}
	return nil
}

// validateDomains rejects a domain served by two virtual hosts of one
// route config, which Envoy refuses.
func validateDomains(rc *routev3.RouteConfiguration) error {
	seen := map[string]string{}
	for _, vh := range rc.GetVirtualHosts() {
		for _, d := range vh.GetDomains() {
			if other, dup := seen[d]; dup {
				return fmt.Errorf("route config %q: domain %q in virtual hosts %q and %q", rc.GetName(), d, other, vh.GetName())
			}
			seen[d] = vh.GetName()
		}
	}
	return nil
}

// validateClusterHosts checks what Envoy checks when it loads a cluster:
// logical DNS resolves exactly one name, static hosts are IP literals, and
// gRPC health checks need HTTP/2 towards the host.
func validateClusterHosts(c *clusterv3.Cluster) error {
	if c.GetType() == clusterv3.Cluster_LOGICAL_DNS && countHosts(c.GetLoadAssignment()) != 1 {
		return fmt.Errorf("cluster %q: logical dns needs exactly one endpoint", c.GetName())
	}
	if c.GetType() == clusterv3.Cluster_STATIC {
		if err := validateAddresses("cluster", c.GetName(), c.GetLoadAssignment()); err != nil {
			return err
		}
	}
	_, h2 := c.GetTypedExtensionProtocolOptions()[httpProtocolOptionsKey]
	for _, hc := range c.GetHealthChecks() {
		if hc.GetGrpcHealthCheck() != nil && !h2 {
			return fmt.Errorf("cluster %q: grpc health check needs an http2 or grpc cluster", c.GetName())
		}
	}
	return nil
}

func countHosts(cla *endpointv3.ClusterLoadAssignment) int {
	n := 0
	for _, loc := range cla.GetEndpoints() {
		n += len(loc.GetLbEndpoints())
	}
	return n
}

// validateAddresses requires IP literals: static and EDS hosts are never
// resolved, and Envoy rejects a hostname there.
func validateAddresses(kind, name string, cla *endpointv3.ClusterLoadAssignment) error {
	for _, loc := range cla.GetEndpoints() {
		for _, lb := range loc.GetLbEndpoints() {
			addr := lb.GetEndpoint().GetAddress().GetSocketAddress().GetAddress()
			if _, err := netip.ParseAddr(addr); err != nil {
				return fmt.Errorf("%s %q: endpoint %q is not an IP address", kind, name, addr)
			}
		}
	}
	return nil
}

// hcmOf returns the HTTP connection manager of a network filter, or nil.
func hcmOf(f *listenerv3.Filter) (*hcmv3.HttpConnectionManager, error) {
	m := &hcmv3.HttpConnectionManager{}
	return unmarshalIf(f, m)
}

// tcpProxyOf returns the tcp_proxy of a network filter, or nil.
func tcpProxyOf(f *listenerv3.Filter) (*tcpproxyv3.TcpProxy, error) {
	m := &tcpproxyv3.TcpProxy{}
	return unmarshalIf(f, m)
}

func unmarshalIf[T proto.Message](f *listenerv3.Filter, m T) (T, error) {
	var zero T
	a := f.GetTypedConfig()
	if a == nil || !a.MessageIs(m) {
		return zero, nil
	}
	if err := a.UnmarshalTo(m); err != nil {
		return zero, fmt.Errorf("filter %q: %w", f.GetName(), err)
	}
	return m, nil
}

// allChains lists a listener's chains including the default one.
func allChains(l *listenerv3.Listener) []*listenerv3.FilterChain {
	chains := l.GetFilterChains()
	if d := l.GetDefaultFilterChain(); d != nil {
		chains = append(chains[:len(chains):len(chains)], d)
	}
	return chains
}

// validateReferences closes the reference graph: listeners → route configs
// and clusters, route configs → clusters, EDS clusters ↔ load assignments.
func (r *Resources) validateReferences(mm *Memo) error {
	refs, err := r.references(mm)
	if err != nil {
		return err
	}
	var errs []error
	clusters := map[string]bool{}
	eds := map[string]bool{}
	for _, c := range r.Clusters {
		clusters[c.GetName()] = true
		if c.GetType() == clusterv3.Cluster_EDS {
			eds[edsName(c)] = true
		}
	}
	routes := map[string]bool{}
	for _, rc := range r.Routes {
		routes[rc.GetName()] = true
		if !refs.routes[rc.GetName()] {
			errs = append(errs, fmt.Errorf("route config %q: not used by any listener", rc.GetName()))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(refs.routesFrom)) {
		if !routes[name] {
			errs = append(errs, fmt.Errorf("%s: route config %q does not exist", refs.routesFrom[name], name))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(refs.clustersFrom)) {
		if !clusters[name] {
			errs = append(errs, fmt.Errorf("%s: cluster %q does not exist", refs.clustersFrom[name], name))
		}
	}
	errs = append(errs, r.validateLoadAssignments(eds))
	return errors.Join(errs...)
}

// validateLoadAssignments pairs EDS clusters with load assignments: a
// cluster without one never warms, one without a cluster is unrequested.
func (r *Resources) validateLoadAssignments(eds map[string]bool) error {
	var errs []error
	have := map[string]bool{}
	for _, e := range r.Endpoints {
		have[e.GetClusterName()] = true
		if !eds[e.GetClusterName()] {
			errs = append(errs, fmt.Errorf("load assignment %q: no eds cluster uses it", e.GetClusterName()))
		}
	}
	for _, c := range r.Clusters {
		if c.GetType() == clusterv3.Cluster_EDS && !have[edsName(c)] {
			errs = append(errs, fmt.Errorf("cluster %q: no load assignment %q", c.GetName(), edsName(c)))
		}
	}
	return errors.Join(errs...)
}

// edsName is the load assignment an EDS cluster asks for.
func edsName(c *clusterv3.Cluster) string {
	if n := c.GetEdsClusterConfig().GetServiceName(); n != "" {
		return n
	}
	return c.GetName()
}

// refSet records referenced names and, for messages, one referrer each.
type refSet struct {
	routes       map[string]bool
	routesFrom   map[string]origin
	clustersFrom map[string]origin
}

// origin names a referrer; it is formatted only for an error message.
type origin struct{ listener, chain, routeConfig, route string }

func (o origin) String() string {
	if o.listener != "" {
		return fmt.Sprintf("listener %q chain %q", o.listener, o.chain)
	}
	return fmt.Sprintf("route config %q route %q", o.routeConfig, o.route)
}

// chainRefs is what one listener chain references.
type chainRefs struct {
	chain                  string
	routeConfigs, clusters []string
}

// listenerRefs returns what each chain of l references, remembered per
// listener object (Memo).
func (mm *Memo) listenerRefs(l *listenerv3.Listener) ([]chainRefs, error) {
	refs, ok := mm.listenerRefMemo.Get(l)
	if ok {
		return refs, nil
	}
	for _, fc := range allChains(l) {
		cr := chainRefs{chain: fc.GetName()}
		for _, f := range fc.GetFilters() {
			m, err := hcmOf(f)
			if err != nil {
				return nil, fmt.Errorf("listener %q chain %q: %w", l.GetName(), fc.GetName(), err)
			}
			if name := m.GetRds().GetRouteConfigName(); name != "" {
				cr.routeConfigs = append(cr.routeConfigs, name)
			}
			t, err := tcpProxyOf(f)
			if err != nil {
				return nil, fmt.Errorf("listener %q chain %q: %w", l.GetName(), fc.GetName(), err)
			}
			if t.GetCluster() != "" {
				cr.clusters = append(cr.clusters, t.GetCluster())
			}
			for _, w := range t.GetWeightedClusters().GetClusters() {
				cr.clusters = append(cr.clusters, w.GetName())
			}
		}
		refs = append(refs, cr)
	}
	mm.listenerRefMemo.Add(l, refs)
	return refs, nil
}

// references collects every route config and cluster name the listeners
// and route configs point at.
func (r *Resources) references(mm *Memo) (*refSet, error) {
	s := &refSet{routes: map[string]bool{}, routesFrom: map[string]origin{}, clustersFrom: map[string]origin{}}
	for _, l := range r.Listeners {
		chains, err := mm.listenerRefs(l)
		if err != nil {
			return nil, err
		}
		for _, cr := range chains {
			from := origin{listener: l.GetName(), chain: cr.chain}
			for _, name := range cr.routeConfigs {
				s.routes[name] = true
				s.routesFrom[name] = from
			}
			for _, c := range cr.clusters {
				s.addCluster(c, from)
			}
		}
	}
	for _, rc := range r.Routes {
		for _, vh := range rc.GetVirtualHosts() {
			for _, rt := range vh.GetRoutes() {
				from := origin{routeConfig: rc.GetName(), route: rt.GetName()}
				s.addCluster(rt.GetRoute().GetCluster(), from)
				for _, w := range rt.GetRoute().GetWeightedClusters().GetClusters() {
					s.addCluster(w.GetName(), from)
				}
			}
		}
	}
	return s, nil
}

func (s *refSet) addCluster(name string, from origin) {
	if name != "" {
		s.clustersFrom[name] = from
	}
}
