package irgen

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/trellis-mesh/trellis/internal/apis/appmesh"
	"github.com/trellis-mesh/trellis/internal/ir"
)

// Gateway routes (§3.7) on a gateway listener's ingress route config.
// Each forwards to the listener's self-redirect cluster (gateway.go) with:
//
//   - Host rewritten to the target virtual service name, unless
//     rewrite.hostname.defaultTargetHostname is DISABLED;
//   - for prefix matches, the matched prefix rewritten to "/" (or to
//     rewrite.prefix.value), unless rewrite.prefix.defaultPrefix is
//     DISABLED. App Mesh emitted a prefix without a trailing slash, /x, as
//     two routes, /x/ then /x, both rewritten, so /x/page → /page (not
//     //page) and /x1 → /1; Trellis does the same;
//   - for path matches (exact or regex), rewrite.path.exact replacing the
//     whole path (the query string is kept); no default rewrite;
//   - the target (service and port) in gatewayTargetHeader;
//   - as timeouts, the longest of the target's route timeouts, since App
//     Mesh made gateway-route timeouts implicit (§3.4); the target's own
//     routes on the egress hop enforce the real ones, and retry there.
//
// Matches: prefix, path exact or regex, hostname exact or suffix on
// :authority (so a Host carrying a port does not match, as in App Mesh),
// headers (every kind, invert), method, query parameters; gRPC: the
// service name as the prefix /<service>/, metadata as headers, gRPC
// requests only. match.port picks the listener.

// rankedGatewayRoute is a gateway route attached to one listener and what
// orders it.
type rankedGatewayRoute struct {
	name     string
	priority *int32
	match    ir.RouteMatch
	host     hostMatch
	spec     *appmesh.GatewayRouteSpec
}

// hostMatch is a translated hostname match and its specificity.
type hostMatch struct {
	header *ir.HeaderMatch
	// rank: 0 exact, 1 suffix, 2 none; length of the name or suffix.
	rank, length int
}

// ingressRoutes translates the gateway routes a listener serves: those of
// its protocol whose match.port is unset or the listener port, in
// evaluation order.
func (g *gatewayTranslator) ingressRoutes(proto string, port uint32, cluster string) []ir.Route {
	var rs []rankedGatewayRoute
	for _, gr := range g.vg.SortedGatewayRoutes() {
		s := gr.Spec
		if s == nil || s.Protocol() != proto {
			continue
		}
		if p := s.MatchPort(); p != nil && uint32(*p) != port {
			continue
		}
		r := rankedGatewayRoute{name: gr.Name, priority: s.Priority, spec: s}
		if s.GrpcRoute != nil {
			r.match, r.host = gatewayGRPCMatch(s.GrpcRoute.Match)
		} else {
			r.match, r.host = gatewayHTTPMatch(httpGatewayRoute(s).Match)
		}
		rs = append(rs, r)
	}
	sortGatewayRoutes(rs)
	var out []ir.Route
	for _, r := range rs {
		out = append(out, g.gatewayRoute(r, proto, cluster)...)
	}
	return out
}

// sortGatewayRoutes puts gateway routes in evaluation order: priority (0
// first), then routes without priority; ties go to the more specific match
// (exact path, regex, longer prefix, then an exact hostname before a
// longer suffix before none), then the name. App Mesh documents only the
// priority rule and "the longest prefix wins" (§3.7); the rest mirrors
// router routes (routes.go).
func sortGatewayRoutes(rs []rankedGatewayRoute) {
	slices.SortStableFunc(rs, func(a, b rankedGatewayRoute) int {
		return cmp.Or(
			comparePriority(a.priority, b.priority),
			cmp.Compare(matchRank(a.match), matchRank(b.match)),
			cmp.Compare(len(b.match.Prefix), len(a.match.Prefix)),
			cmp.Compare(a.host.rank, b.host.rank),
			cmp.Compare(b.host.length, a.host.length),
			cmp.Compare(a.name, b.name))
	})
}

// httpGatewayRoute returns the http or http2 member of a spec.
func httpGatewayRoute(s *appmesh.GatewayRouteSpec) *appmesh.HttpGatewayRoute {
	return cmp.Or(s.HttpRoute, s.Http2Route)
}

// gatewayRoute translates one gateway route into its Envoy route(s).
func (g *gatewayTranslator) gatewayRoute(r rankedGatewayRoute, proto, cluster string) []ir.Route {
	target := r.spec.Target()
	if target == nil || target.VirtualService == nil {
		return nil // validation requires a target
	}
	k := g.resolveTarget(r.name, target, proto)
	g.targets[k] = true
	to := gatewayTimeouts(g.targetRoutes(k))
	base := ir.Route{Name: r.name, Match: r.match, Action: ir.RouteAction{
		Clusters:            []ir.WeightedCluster{{Name: cluster, Weight: wholeWeight}},
		Timeout:             to.perRequest,
		IdleTimeout:         to.idle,
		RequestHeadersToAdd: []ir.KeyValue{{Key: gatewayTargetHeader, Value: k.key()}},
	}}
	if s := r.spec; s.GrpcRoute != nil {
		if a := s.GrpcRoute.Action; a.Rewrite == nil || rewritesHost(a.Rewrite.Hostname) {
			base.Action.HostRewrite = k.vs
		}
		return []ir.Route{base}
	}
	hr := httpGatewayRoute(r.spec)
	var rw *appmesh.HttpGatewayRouteRewrite
	if hr.Action != nil {
		rw = hr.Action.Rewrite
	}
	if rw == nil || rewritesHost(rw.Hostname) {
		base.Action.HostRewrite = k.vs
	}
	return pathRewrites(base, hr.Match, rw)
}

// rewritesHost: the Host becomes the target name unless disabled.
func rewritesHost(h *appmesh.GatewayRouteHostnameRewrite) bool {
	return h == nil || h.DefaultTargetHostname != appmesh.RewriteDisabled
}

// pathRewrites applies an http gateway route's prefix or path rewrite,
// splitting a rewritten prefix without trailing slash into the /x/ and /x
// routes App Mesh produced.
func pathRewrites(base ir.Route, m *appmesh.HttpGatewayRouteMatch, rw *appmesh.HttpGatewayRouteRewrite) []ir.Route {
	switch {
	case m == nil:
	case m.Prefix != nil:
		to, ok := prefixRewrite(rw)
		if !ok {
			break
		}
		base.Action.PrefixRewrite = to
		if strings.HasSuffix(*m.Prefix, "/") {
			break
		}
		slash := base
		slash.Match.Prefix += "/"
		return []ir.Route{slash, base}
	case m.Path != nil && rw != nil && rw.Path != nil && rw.Path.Exact != nil:
		base.Action.PathRewrite = *rw.Path.Exact
	}
	return []ir.Route{base}
}

// prefixRewrite is what a matched prefix becomes: rewrite.prefix.value,
// else "/" unless defaultPrefix is DISABLED (ok false: no rewrite).
func prefixRewrite(rw *appmesh.HttpGatewayRouteRewrite) (string, bool) {
	if rw == nil || rw.Prefix == nil {
		return "/", true
	}
	if rw.Prefix.Value != nil {
		return *rw.Prefix.Value, true
	}
	return "/", rw.Prefix.DefaultPrefix != appmesh.RewriteDisabled
}

// resolveTarget picks the target port: target.port when set, else the
// service's first HTTP-family port of the route's protocol, else its first
// HTTP-family port (App Mesh requires target.port when the service has
// several listeners). A target that cannot be reached still gets its
// route, so its requests get 404 rather than falling through to another
// gateway route.
func (g *gatewayTranslator) resolveTarget(route string, target *appmesh.GatewayRouteTarget, proto string) gatewayTarget {
	k := gatewayTarget{vs: target.VirtualService.VirtualServiceName}
	p := g.plan(k.vs)
	if p == nil {
		g.warnf("virtualGateway %s gatewayRoute %s: virtual service %s does not exist; its requests get 404", g.vg.Name, route, k.vs)
		return k
	}
	ports := p.httpPorts()
	if target.Port != nil {
		k.port = uint32(*target.Port)
		if !slices.Contains(ports, k.port) && len(p.unrouted) == 0 {
			g.warnf("virtualGateway %s gatewayRoute %s: virtual service %s has no http, http2 or grpc port %d; its requests get 404",
				g.vg.Name, route, k.vs, k.port)
		}
		return k
	}
	for _, port := range ports {
		if p.ports[port].protos[proto] {
			k.port = port
			return k
		}
	}
	if len(ports) > 0 {
		k.port = ports[0]
	}
	return k
}

// gatewayTimeouts are the longest per-request and idle timeouts of a
// target's routes (0, disabled, is the longest), or App Mesh's defaults
// when it has none.
func gatewayTimeouts(routes []ir.Route) httpTimeouts {
	to := newHTTPTimeouts(nil)
	if len(routes) == 0 {
		return to
	}
	to = httpTimeouts{}
	for _, r := range routes {
		to.perRequest = longerTimeout(to.perRequest, r.Action.Timeout, defaultPerRequestTimeout)
		to.idle = longerTimeout(to.idle, r.Action.IdleTimeout, defaultIdleTimeout)
	}
	return to
}

// longerTimeout returns the longer of acc and v (v nil counts as def), 0
// meaning no timeout at all.
func longerTimeout(acc, v *ir.Duration, def time.Duration) *ir.Duration {
	if v == nil {
		v = ir.D(def)
	}
	switch {
	case acc == nil:
		return ir.D(v.Std())
	case *acc == 0 || *v == 0:
		return ir.D(0)
	}
	return ir.D(max(acc.Std(), v.Std()))
}

// gatewayHTTPMatch translates an http/http2 gateway route match: prefix,
// exact path or path regex ("/" when none), then the hostname, headers,
// method and query parameters.
func gatewayHTTPMatch(m *appmesh.HttpGatewayRouteMatch) (ir.RouteMatch, hostMatch) {
	rm := ir.RouteMatch{Prefix: "/"}
	if m == nil {
		return rm, hostMatch{rank: 2}
	}
	switch {
	case m.Path != nil && m.Path.Exact != nil:
		rm.Prefix, rm.Path = "", *m.Path.Exact
	case m.Path != nil && m.Path.Regex != nil:
		rm.Prefix, rm.Regex = "", *m.Path.Regex
	case m.Prefix != nil:
		rm.Prefix = *m.Prefix
	}
	host := gatewayHostname(m.Hostname)
	if host.header != nil {
		rm.Headers = append(rm.Headers, *host.header)
	}
	for _, h := range m.Headers {
		rm.Headers = append(rm.Headers, headerMatch(h.Name, h.Match, h.Invert))
	}
	if m.Method != "" {
		rm.Headers = append(rm.Headers, ir.HeaderMatch{Name: ":method", Exact: ptr(m.Method)})
	}
	rm.QueryParams = append(rm.QueryParams, queryMatches(m.QueryParameters)...)
	return rm, host
}

// gatewayGRPCMatch translates a gRPC gateway route match: the service name
// as the prefix /<service>/ ("/" when none), gRPC requests only, then the
// hostname and metadata.
func gatewayGRPCMatch(m *appmesh.GrpcGatewayRouteMatch) (ir.RouteMatch, hostMatch) {
	rm := ir.RouteMatch{Prefix: "/", GRPC: true}
	if m == nil {
		return rm, hostMatch{rank: 2}
	}
	if m.ServiceName != nil && *m.ServiceName != "" {
		rm.Prefix = "/" + *m.ServiceName + "/"
	}
	host := gatewayHostname(m.Hostname)
	if host.header != nil {
		rm.Headers = append(rm.Headers, *host.header)
	}
	for _, md := range m.Metadata {
		rm.Headers = append(rm.Headers, headerMatch(md.Name, md.Match, md.Invert))
	}
	return rm, host
}

// gatewayHostname matches the request host (:authority, Envoy's name for
// Host) exactly or by suffix.
func gatewayHostname(h *appmesh.GatewayRouteHostnameMatch) hostMatch {
	switch {
	case h == nil:
	case h.Exact != nil:
		return hostMatch{header: &ir.HeaderMatch{Name: ":authority", Exact: ptr(*h.Exact)}, rank: 0, length: len(*h.Exact)}
	case h.Suffix != nil:
		return hostMatch{header: &ir.HeaderMatch{Name: ":authority", Suffix: ptr(*h.Suffix)}, rank: 1, length: len(*h.Suffix)}
	}
	return hostMatch{rank: 2}
}
