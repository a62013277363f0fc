package irgen

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/trellis-mesh/trellis/internal/apis/appmesh"
	"github.com/trellis-mesh/trellis/internal/ir"
	"github.com/trellis-mesh/trellis/internal/meshview"
)

// Virtual gateways (§3.7) keep App Mesh's "self redirect" shape: the
// gateway is a sidecar for itself.
//
//   - Each gateway listener (http, http2, grpc) gets its own ingress
//     listener lds_ingress_<IngressAddress>_<port>, bound at that port
//     whatever Options.Interception says (App Mesh gateways were never
//     behind iptables). Its route config rds_ingress_<proto>_<port> has one
//     virtual host self_redirect (domains "*") holding the gateway routes of
//     the listener's protocol, in evaluation order (gatewayroutes.go).
//   - Every gateway route forwards, with its rewrites applied, to the
//     listener's self-redirect cluster, which points back at the gateway's
//     own egress listener lds_egress_<EgressAddress>_<EgressPort>.
//   - The egress listener carries the target virtual services' own routing
//     (router routes, weights, retries, timeouts, backend clusters), built
//     exactly as outbound.go builds a sidecar's backends, with the gateway's
//     backendDefaults client policy.
//
// App Mesh told the egress hop which virtual service a request is for by
// its Host (the rewritten target name), and by an x-app-mesh-virtual-service
// header when the hostname rewrite was disabled. Trellis always uses a
// header, gatewayTargetHeader = "<virtual service>:<port>": it also carries
// the target port (a service can have several, with different routes), and
// it leaves the Host to the route's hostname rewrite alone. The ingress hop
// sets it (replacing anything the client sent); the egress hop matches on
// it and removes it, so the app never sees it.
//
// Why not route straight from the ingress hop to the backend clusters? A
// gateway prefix rewrite happens after matching, so a router route's match
// would have to be restated in terms of the original path; for a router
// regex under a rewritten prefix that has no exact Envoy expression. The
// second hop also keeps App Mesh's meaning of a gateway listener's
// connection pool: a limit on the self-redirect cluster, that is on all the
// listener's traffic together, not per backend.

// gatewayTargetHeader carries a gateway route's target from the ingress
// hop to the egress hop.
const gatewayTargetHeader = "x-trellis-virtual-service"

// Virtual host names of a gateway's route configs (App Mesh's, [DUMP-VG]).
const (
	selfRedirectVirtualHost = "self_redirect"
	gatewayBackendsHost     = "default_backend"
)

// SelfRedirectClusterName names the cluster a gateway listener forwards to
// (§3.1): cds_ingress_<mesh>_<vg>_self_redirect_<proto>_<egressPort>, or,
// when the gateway has several listeners,
// cds_ingress_<mesh>_<vg>_self_redirect_<listenerPort>_<proto>_<egressPort>.
func SelfRedirectClusterName(mesh, vg, proto string, listenerPort uint32, multi bool, egressPort uint32) string {
	if multi {
		return fmt.Sprintf("cds_ingress_%s_%s_self_redirect_%d_%s_%d", mesh, vg, listenerPort, proto, egressPort)
	}
	return fmt.Sprintf("cds_ingress_%s_%s_self_redirect_%s_%d", mesh, vg, proto, egressPort)
}

// gatewayTranslator translates one virtual gateway. It reuses the sidecar
// translator for everything behind the egress listener, with a stand-in
// virtual node carrying the gateway's name and logging.
type gatewayTranslator struct {
	*translator
	vg *meshview.VirtualGateway
	// policy is backendDefaults.clientPolicy.tls, for every backend.
	policy *appmesh.ClientPolicyTls
	// multi: the gateway has several listeners (names and stat prefixes
	// then carry the port).
	multi bool
	// plans are the target virtual services as a sidecar would see them as
	// backends, planned on first use; nil for a service that is missing.
	plans map[string]*outboundPlan
	// targets are the (service, port) pairs some ingress route sends to.
	targets map[gatewayTarget]bool
}

// gatewayTarget is where a gateway route sends requests: a virtual service
// on one of its ports (0 when the service has no HTTP-family port).
type gatewayTarget struct {
	vs   string
	port uint32
}

// key is the gatewayTargetHeader value.
func (k gatewayTarget) key() string {
	if k.port == 0 {
		return k.vs
	}
	return fmt.Sprintf("%s:%d", k.vs, k.port)
}

// meshGateway returns a mesh's virtual gateway with its spec, or nil.
func meshGateway(mesh *meshview.Mesh, name string) *meshview.VirtualGateway {
	if mesh == nil || mesh.VirtualGateways.Get(name) == nil || mesh.VirtualGateways.Get(name).Spec == nil {
		return nil
	}
	return mesh.VirtualGateways.Get(name)
}

// translateGateway fills out with the gateway's listeners, routes and
// clusters.
func translateGateway(mesh *meshview.Mesh, vg *meshview.VirtualGateway, opts Options, eps Endpoints, out *ir.Proxy) {
	stand := &meshview.VirtualNode{Resource: vg.Resource,
		Spec: &appmesh.VirtualNodeSpec{Logging: (*appmesh.Logging)(vg.Spec.Logging)}}
	t := newTranslator(mesh, stand, opts, eps)
	t.out = out
	g := &gatewayTranslator{translator: t, vg: vg, plans: map[string]*outboundPlan{}, targets: map[gatewayTarget]bool{}}
	if d := vg.Spec.BackendDefaults; d != nil && d.ClientPolicy != nil {
		g.policy = (*appmesh.ClientPolicyTls)(d.ClientPolicy.Tls)
	}
	g.ingress()
	g.egress()
	t.finish()
	g.relabelWarnings()
}

// ingress builds one listener, route config and self-redirect cluster per
// gateway listener, in port order.
func (g *gatewayTranslator) ingress() {
	ls := make([]*appmesh.VirtualGatewayListener, 0, len(g.vg.Spec.Listeners))
	for i := range g.vg.Spec.Listeners {
		if g.vg.Spec.Listeners[i].PortMapping != nil {
			ls = append(ls, &g.vg.Spec.Listeners[i])
		}
	}
	slices.SortFunc(ls, func(a, b *appmesh.VirtualGatewayListener) int {
		return cmp.Compare(a.PortMapping.Port, b.PortMapping.Port)
	})
	g.multi = len(ls) > 1
	for _, l := range ls {
		port, proto := uint32(l.PortMapping.Port), l.PortMapping.Protocol
		if !ir.Protocol(proto).IsHTTP() {
			g.warnf("virtualGateway %s listener %d: protocol %q is not http, http2 or grpc; listener skipped", g.vg.Name, port, proto)
			continue
		}
		if port == g.opts.EgressPort && bindsOverlap(g.opts.IngressAddress, g.opts.EgressAddress) {
			g.warnf("virtualGateway %s listener %d: the port is the gateway's own egress port; listener skipped", g.vg.Name, port)
			continue
		}
		redirect := g.selfRedirectCluster(l)
		g.addCluster(redirect)
		rc := ir.RouteConfig{Name: IngressRouteConfigName(proto, port), VirtualHosts: []ir.VirtualHost{{
			Name: selfRedirectVirtualHost, Domains: []string{"*"}, Routes: g.ingressRoutes(proto, port, redirect.Name)}}}
		g.out.RouteConfigs = append(g.out.RouteConfigs, rc)
		hcm := &ir.HTTPManager{StatPrefix: ingressStatPrefix(proto, port, g.multi), RouteConfig: rc.Name,
			Protocol: ir.Protocol(proto), StreamIdleTimeout: ir.D(defaultIdleTimeout), AccessLogs: g.logs,
			Tracing: g.opts.Tracing}
		chains, inspect := g.gatewayChains(l, hcm)
		addr := g.opts.IngressAddress
		g.out.Listeners = append(g.out.Listeners, ir.Listener{Name: IngressListenerName(addr, port), Address: addr,
			Port: port, Direction: ir.Inbound, TLSInspector: inspect, FilterChains: chains})
	}
}

// gatewayChains builds a gateway listener's chains with its TLS, as for a
// virtual-node listener (inbound.go): STRICT terminates TLS, PERMISSIVE
// splits TLS and plaintext chains on the detected transport protocol, and
// DISABLED or no tls block stay plaintext. It says whether the chains need
// the TLS inspector.
func (g *gatewayTranslator) gatewayChains(l *appmesh.VirtualGatewayListener, hcm *ir.HTTPManager) ([]ir.FilterChain, bool) {
	port, proto := uint32(l.PortMapping.Port), l.PortMapping.Protocol
	base := ir.FilterChain{Name: chainName("ingress", proto, port, ""), HTTP: hcm}
	tls, mode := g.listenerTLS(asNodeListener(l), proto, port)
	return tlsChains(base, tls, mode, proto, port)
}

// asNodeListener views a gateway listener as a virtual-node listener, so
// the node's TLS translation applies unchanged (the TLS shapes are the
// same; gateways have no timeouts or outlier detection, and their health
// check concerns whatever balances across gateway instances, not Envoy).
func asNodeListener(l *appmesh.VirtualGatewayListener) *appmesh.Listener {
	nl := &appmesh.Listener{PortMapping: &appmesh.PortMapping{Port: l.PortMapping.Port, Protocol: l.PortMapping.Protocol}}
	if lt := l.Tls; lt != nil {
		nl.Tls = &appmesh.ListenerTls{Mode: lt.Mode, Certificate: (*appmesh.ListenerTlsCertificate)(lt.Certificate),
			Validation: (*appmesh.ListenerTlsValidationContext)(lt.Validation)}
	}
	return nl
}

// selfRedirectCluster is the listener's way back into the gateway's egress
// listener (§3.1): STATIC at the egress address (its loopback when the
// egress listener binds every address), 0.25 s connect timeout, the
// listener's protocol, and the listener's connection pool as thresholds
// (§3.11), else App Mesh's 2147483647.
func (g *gatewayTranslator) selfRedirectCluster(l *appmesh.VirtualGatewayListener) *ir.Cluster {
	port, proto := uint32(l.PortMapping.Port), l.PortMapping.Protocol
	return &ir.Cluster{
		Name:            SelfRedirectClusterName(g.mesh.Name, g.vg.Name, proto, port, g.multi, g.opts.EgressPort),
		Discovery:       ir.Static,
		Endpoints:       []ir.Endpoint{{Address: dialAddress(g.opts.EgressAddress), Port: g.opts.EgressPort}},
		ConnectTimeout:  ir.Duration(localConnectTimeout),
		Protocol:        ir.Protocol(proto),
		CircuitBreakers: gatewayCircuitBreakers(l.ConnectionPool),
	}
}

// dialAddress is where to connect to reach a listener bound at addr: the
// loopback of the wildcard addresses, else addr itself.
func dialAddress(addr string) string {
	switch addr {
	case "0.0.0.0", "":
		return defaultAppAddressV4
	case "::":
		return defaultAppAddressV6
	}
	return addr
}

// bindsOverlap reports whether listeners bound at a and b on one port
// would collide.
func bindsOverlap(a, b string) bool {
	wildcard := func(s string) bool { return s == "0.0.0.0" || s == "::" }
	return a == b || wildcard(a) || wildcard(b)
}

// gatewayCircuitBreakers maps a gateway listener's connection pool (§3.11)
// exactly as a node listener's: the gateway pool shapes are the node ones
// without tcp, so they convert.
func gatewayCircuitBreakers(cp *appmesh.VirtualGatewayConnectionPool) *ir.CircuitBreakers {
	if cp == nil {
		return localCircuitBreakers(nil)
	}
	return localCircuitBreakers(&appmesh.VirtualNodeConnectionPool{
		Http:  (*appmesh.VirtualNodeHttpConnectionPool)(cp.Http),
		Http2: (*appmesh.VirtualNodeHttp2ConnectionPool)(cp.Http2),
		Grpc:  (*appmesh.VirtualNodeGrpcConnectionPool)(cp.Grpc),
	})
}

// egress builds the listener the self-redirect clusters reach: one HTTP
// chain (auto-detected HTTP/1.1 or HTTP/2, since listeners of every
// protocol redirect here) whose route config rds_egress_http_<EgressPort>
// has one virtual host, default_backend, with the routes of every target
// in (service, port) order. Each route is the target's own, restricted to
// requests carrying the target's gatewayTargetHeader, which it removes.
// A target without routes (no provider, an empty router) contributes
// nothing, so its requests get 404, as in App Mesh (§3.5). A gateway that
// routes nowhere gets no egress listener.
func (g *gatewayTranslator) egress() {
	if len(g.targets) == 0 {
		return
	}
	keys := make([]gatewayTarget, 0, len(g.targets))
	for k := range g.targets {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b gatewayTarget) int { return cmp.Or(cmp.Compare(a.vs, b.vs), cmp.Compare(a.port, b.port)) })
	var routes []ir.Route
	for _, k := range keys {
		for _, r := range g.targetRoutes(k) {
			r.Match.Headers = append([]ir.HeaderMatch{{Name: gatewayTargetHeader, Exact: ptr(k.key())}}, r.Match.Headers...)
			r.Action.RequestHeadersToRemove = []string{gatewayTargetHeader}
			routes = append(routes, r)
		}
	}
	port, addr := g.opts.EgressPort, g.opts.EgressAddress
	rc := ir.RouteConfig{Name: EgressRouteConfigName(appmesh.ProtocolHTTP, port), VirtualHosts: []ir.VirtualHost{{
		Name: gatewayBackendsHost, Domains: []string{"*"}, Routes: routes}}}
	g.out.RouteConfigs = append(g.out.RouteConfigs, rc)
	chain := ir.FilterChain{Name: chainName("egress", appmesh.ProtocolHTTP, port, ""),
		HTTP: &ir.HTTPManager{StatPrefix: statPrefixEgress, RouteConfig: rc.Name, Protocol: ir.HTTP,
			StreamIdleTimeout: ir.D(defaultIdleTimeout), AccessLogs: g.logs, Tracing: g.opts.Tracing}}
	g.out.Listeners = append(g.out.Listeners, ir.Listener{Name: EgressListenerName(addr, port), Address: addr,
		Port: port, Direction: ir.Outbound, FilterChains: []ir.FilterChain{chain}})
}

// plan returns a target virtual service as planned for a sidecar backend
// (outbound.go), or nil when the service does not exist.
func (g *gatewayTranslator) plan(vs string) *outboundPlan {
	if p, ok := g.plans[vs]; ok {
		return p
	}
	var p *outboundPlan
	if v := g.mesh.VirtualServices.Get(vs); v != nil && v.Spec != nil {
		p = &outboundPlan{ports: map[uint32]*egressPort{}}
		g.planBackend(p, v, g.policy)
	}
	g.plans[vs] = p
	return p
}

// targetRoutes returns copies of a target's routes (nil when it has none).
func (g *gatewayTranslator) targetRoutes(k gatewayTarget) []ir.Route {
	p := g.plan(k.vs)
	if p == nil || p.ports[k.port] == nil {
		return nil
	}
	for _, vh := range p.ports[k.port].vhosts {
		if vh.Name == k.vs {
			return slices.Clone(vh.Routes)
		}
	}
	return nil
}

// httpPorts are a planned service's HTTP-family ports, in order.
func (p *outboundPlan) httpPorts() []uint32 {
	var out []uint32
	for _, port := range sortedKeys(p.ports) {
		if len(p.ports[port].vhosts) > 0 {
			out = append(out, port)
		}
	}
	return out
}

// relabelWarnings names the gateway as such in warnings the shared sidecar
// code wrote about "virtualNode <gateway name>" (the stand-in node; every
// such warning is about the proxy itself).
func (g *gatewayTranslator) relabelWarnings() {
	from, to := "virtualNode "+g.vg.Name+" ", "virtualGateway "+g.vg.Name+" "
	for i, w := range g.out.Warnings {
		if rest, ok := strings.CutPrefix(w, from); ok {
			g.out.Warnings[i] = to + rest
		}
	}
}
