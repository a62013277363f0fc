package irgen

import (
	"cmp"
	"slices"

	"github.com/trellis-mesh/trellis/internal/apis/appmesh"
	"github.com/trellis-mesh/trellis/internal/ir"
	"github.com/trellis-mesh/trellis/internal/meshview"
)

// rankedRoute is a translated route and what orders it.
type rankedRoute struct {
	priority *int32
	route    ir.Route
	// tcpIdle is a TCP route's idle timeout (TCP routes have no ir.Route
	// action fields of their own).
	tcpIdle *ir.Duration
}

// sortRoutes puts routes in evaluation order. App Mesh documents only the
// first rule (§3.4): priority 0 is evaluated first, and routes without a
// priority come after every prioritised one. How EMS broke ties is a gap
// (§7); Trellis evaluates the more specific match first, as a user would
// expect and as the ECS header demo shows (regex beating prefix): an exact
// path, then a path regex, then a longer prefix; and last the route name,
// so the order is total.
func sortRoutes(rs []rankedRoute) {
	slices.SortStableFunc(rs, func(a, b rankedRoute) int {
		return cmp.Or(
			comparePriority(a.priority, b.priority),
			cmp.Compare(matchRank(a.route.Match), matchRank(b.route.Match)),
			cmp.Compare(len(b.route.Match.Prefix), len(a.route.Match.Prefix)),
			cmp.Compare(a.route.Name, b.route.Name))
	})
}

func comparePriority(a, b *int32) int {
	switch {
	case a != nil && b != nil:
		return cmp.Compare(*a, *b)
	case a != nil:
		return -1
	case b != nil:
		return 1
	}
	return 0
}

// matchRank orders path kinds from most to least specific.
func matchRank(m ir.RouteMatch) int {
	switch {
	case m.Path != "":
		return 0
	case m.Regex != "":
		return 1
	}
	return 2
}

// servesPort reports whether a route applies to a router listener: same
// protocol, and no match port or this port (§3.4).
func servesPort(s *appmesh.RouteSpec, proto string, port uint32) bool {
	p := s.MatchPort()
	return s.Protocol() == proto && (p == nil || uint32(*p) == port)
}

// routerRoutes translates a router's HTTP-family routes for one listener,
// in evaluation order. Routes none of whose targets can be reached are
// left out (with a warning): Envoy cannot forward to nothing.
func (t *translator) routerRoutes(vr *meshview.VirtualRouter, proto string, port uint32, policy *appmesh.ClientPolicyTls) []ir.Route {
	var rs []rankedRoute
	for _, r := range vr.SortedRoutes() {
		if !servesPort(r.Spec, proto, port) {
			continue
		}
		if rt, ok := t.httpFamilyRoute(vr.Name, r, proto, policy); ok {
			rs = append(rs, rankedRoute{priority: r.Spec.Priority, route: rt})
		}
	}
	sortRoutes(rs)
	out := make([]ir.Route, 0, len(rs))
	for _, r := range rs {
		out = append(out, r.route)
	}
	return out
}

// httpFamilyRoute translates an http, http2 or grpc route: match, weighted
// targets, timeouts (15 s per request and 300 s idle by default, §3.4) and
// retry policy (App Mesh's default when none).
func (t *translator) httpFamilyRoute(router string, r *meshview.Route, proto string, policy *appmesh.ClientPolicyTls) (ir.Route, bool) {
	s := r.Spec
	rt := ir.Route{Name: r.Name}
	var to httpTimeouts
	switch {
	case s.HttpRoute != nil || s.Http2Route != nil:
		hr := cmp.Or(s.HttpRoute, s.Http2Route)
		rt.Match, to, rt.Action.Retry = httpMatch(hr.Match), newHTTPTimeouts(hr.Timeout), httpRetry(hr.RetryPolicy)
	case s.GrpcRoute != nil:
		gr := s.GrpcRoute
		rt.Match, to, rt.Action.Retry = grpcMatch(gr.Match), newHTTPTimeouts((*appmesh.HttpTimeout)(gr.Timeout)), grpcRetry(gr.RetryPolicy)
	default:
		return rt, false
	}
	rt.Action.Timeout, rt.Action.IdleTimeout = to.perRequest, to.idle
	rt.Action.Clusters = t.weightedClusters(router, r.Name, s.WeightedTargets(), proto, policy)
	return rt, len(rt.Action.Clusters) > 0
}

// routerTCP picks the TCP route of a router listener: TCP routes cannot
// match anything, so the first in evaluation order takes every connection.
// It returns nil when the listener has no usable TCP route.
func (t *translator) routerTCP(vr *meshview.VirtualRouter, port uint32, policy *appmesh.ClientPolicyTls) *ir.TCPProxy {
	var rs []rankedRoute
	for _, r := range vr.SortedRoutes() {
		if r.Spec.TcpRoute == nil || !servesPort(r.Spec, appmesh.ProtocolTCP, port) {
			continue
		}
		cs := t.weightedClusters(vr.Name, r.Name, r.Spec.WeightedTargets(), appmesh.ProtocolTCP, policy)
		if len(cs) > 0 {
			rs = append(rs, rankedRoute{priority: r.Spec.Priority, tcpIdle: routeTCPIdle(r.Spec.TcpRoute.Timeout),
				route: ir.Route{Name: r.Name, Action: ir.RouteAction{Clusters: cs}}})
		}
	}
	if len(rs) == 0 {
		return nil
	}
	sortRoutes(rs)
	return &ir.TCPProxy{Clusters: rs[0].route.Action.Clusters, IdleTimeout: rs[0].tcpIdle}
}

// weightedClusters resolves a route's weighted targets to backend clusters
// (weights kept as given, 0 included: canary 0/100, §3.4). Two targets
// that land on the same listener are merged by adding their weights.
func (t *translator) weightedClusters(router, route string, targets []appmesh.WeightedTarget, proto string, policy *appmesh.ClientPolicyTls) []ir.WeightedCluster {
	var out []ir.WeightedCluster
	for _, wt := range targets {
		vn := t.virtualNode(wt.VirtualNode)
		var l *appmesh.Listener
		if vn != nil {
			l = targetListener(vn, wt.Port, proto)
		}
		if l == nil {
			t.warnf("virtualRouter %s route %s: target %s has no listener to route to; target skipped", router, route, wt.VirtualNode)
			continue
		}
		name := t.backendCluster(vn, l, policy)
		weight := u32(int64(wt.Weight))
		if i := slices.IndexFunc(out, func(c ir.WeightedCluster) bool { return c.Name == name }); i >= 0 {
			out[i].Weight += weight
			continue
		}
		out = append(out, ir.WeightedCluster{Name: name, Weight: weight})
	}
	return out
}

// nodeRoute is the single route of a virtual service provided by a virtual
// node: everything to the node's listener, with the default timeouts and
// the default retry policy, which App Mesh applied to node-provided
// services too (there is no API to change it there, §3.4).
func (t *translator) nodeRoute(target *meshview.VirtualNode, l *appmesh.Listener, policy *appmesh.ClientPolicyTls) ir.Route {
	to := newHTTPTimeouts(nil)
	return ir.Route{Name: defaultRouteName, Match: ir.RouteMatch{Prefix: "/"},
		Action: ir.RouteAction{
			Clusters:    []ir.WeightedCluster{{Name: t.backendCluster(target, l, policy), Weight: wholeWeight}},
			Timeout:     to.perRequest,
			IdleTimeout: to.idle,
			Retry:       defaultRetry(l.PortMapping.Protocol == appmesh.ProtocolGRPC),
		}}
}
