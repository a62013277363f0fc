package irgen

import (
	"cmp"
	"slices"

	"github.com/trellis-mesh/trellis/internal/apis/appmesh"
	"github.com/trellis-mesh/trellis/internal/ir"
	"github.com/trellis-mesh/trellis/internal/meshview"
)

// egressPort is what the node's backends put on one destination port: the
// virtual hosts of HTTP-family services, or the one TCP service.
type egressPort struct {
	protos     map[string]bool
	vhosts     []ir.VirtualHost
	tcp        *ir.TCPProxy
	tcpService string
}

// httpProtocol is the protocol of the port's connection manager. An Envoy
// listener picks a chain by port only, so services of several HTTP-family
// protocols on one port share one connection manager and route config,
// named after the first of http, http2, grpc present (xdsgen should give
// http an auto-detecting codec so HTTP/2 callers still work there).
func (e *egressPort) httpProtocol() string {
	for _, p := range []string{appmesh.ProtocolHTTP, appmesh.ProtocolHTTP2, appmesh.ProtocolGRPC} {
		if e.protos[p] {
			return p
		}
	}
	return ""
}

// outboundPlan gathers the node's backends by port before chains are built.
type outboundPlan struct {
	ports map[uint32]*egressPort
	// unrouted are services without a (present) provider: App Mesh gave
	// them a virtual host with no routes, i.e. 404 (§3.5). Without a
	// provider there is no port, so they join every HTTP route config.
	unrouted []string
}

func (p *outboundPlan) port(n uint32) *egressPort {
	if p.ports[n] == nil {
		p.ports[n] = &egressPort{protos: map[string]bool{}}
	}
	return p.ports[n]
}

func (p *outboundPlan) addVHost(port uint32, proto string, vh ir.VirtualHost) {
	ep := p.port(port)
	ep.protos[proto] = true
	ep.vhosts = append(ep.vhosts, vh)
}

// outbound translates the node's backends (§3.2, §3.3) into egress route
// configs, chains and listeners. Backends are soft references: a backend
// whose virtual service does not exist is ignored.
func (t *translator) outbound() {
	plan := &outboundPlan{ports: map[uint32]*egressPort{}}
	bs := slices.Clone(t.node.Spec.Backends)
	slices.SortFunc(bs, func(a, b appmesh.Backend) int { return cmp.Compare(backendName(a), backendName(b)) })
	for _, b := range bs {
		if b.VirtualService == nil {
			continue
		}
		vs := t.virtualService(b.VirtualService.VirtualServiceName)
		if vs == nil {
			continue
		}
		t.planBackend(plan, vs, clientPolicyTLS(t.node.Spec, b.VirtualService))
	}
	t.egressListeners(t.egressChains(plan))
}

func backendName(b appmesh.Backend) string {
	if b.VirtualService == nil {
		return ""
	}
	return b.VirtualService.VirtualServiceName
}

// planBackend adds one virtual service by its provider.
func (t *translator) planBackend(plan *outboundPlan, vs *meshview.VirtualService, policy *appmesh.ClientPolicyTls) {
	var vn *meshview.VirtualNode
	var vr *meshview.VirtualRouter
	if p := vs.Spec.Provider; p != nil && p.VirtualNode != nil {
		vn = t.virtualNode(p.VirtualNode.VirtualNodeName)
	} else if p != nil && p.VirtualRouter != nil {
		vr = t.virtualRouter(p.VirtualRouter.VirtualRouterName)
	}
	switch {
	case vn != nil:
		t.planNodeProvider(plan, vs.Name, vn, policy)
	case vr != nil && vr.Spec != nil:
		t.planRouterProvider(plan, vs.Name, vr, policy)
	default:
		plan.unrouted = append(plan.unrouted, vs.Name)
	}
}

// planNodeProvider: a node-provided service is reachable on every listener
// port of the node, all of it to that listener (§3.3).
func (t *translator) planNodeProvider(plan *outboundPlan, vs string, vn *meshview.VirtualNode, policy *appmesh.ClientPolicyTls) {
	for _, l := range sortedListeners(vn.Spec.Listeners) {
		port, proto := uint32(l.PortMapping.Port), l.PortMapping.Protocol
		if ir.Protocol(proto).IsHTTP() {
			plan.addVHost(port, proto, ir.VirtualHost{Name: vs, Domains: vhostDomains(vs, port), StatsName: vs,
				Routes: []ir.Route{t.nodeRoute(vn, l, policy)}})
			continue
		}
		if t.tcpTaken(plan, vs, port) {
			continue
		}
		ep := plan.port(port)
		ep.tcpService = vs
		ep.tcp = &ir.TCPProxy{Clusters: []ir.WeightedCluster{{Name: t.backendCluster(vn, l, policy), Weight: wholeWeight}}}
	}
}

// planRouterProvider: a router-provided service is reachable on every
// router listener port, through the router's routes of that listener's
// protocol. A listener without routes still gets its (empty) virtual host
// (§3.5); a TCP listener without routes gets nothing.
func (t *translator) planRouterProvider(plan *outboundPlan, vs string, vr *meshview.VirtualRouter, policy *appmesh.ClientPolicyTls) {
	ls := slices.Clone(vr.Spec.Listeners)
	slices.SortFunc(ls, func(a, b appmesh.VirtualRouterListener) int {
		return cmp.Compare(portOf(a.PortMapping), portOf(b.PortMapping))
	})
	for _, l := range ls {
		if l.PortMapping == nil {
			continue
		}
		port, proto := uint32(l.PortMapping.Port), l.PortMapping.Protocol
		if ir.Protocol(proto).IsHTTP() {
			plan.addVHost(port, proto, ir.VirtualHost{Name: vs, Domains: vhostDomains(vs, port), StatsName: vs,
				Routes: t.routerRoutes(vr, proto, port, policy)})
			continue
		}
		if t.tcpTaken(plan, vs, port) {
			continue
		}
		if tp := t.routerTCP(vr, port, policy); tp != nil {
			ep := plan.port(port)
			ep.tcpService, ep.tcp = vs, tp
		}
	}
}

func portOf(pm *appmesh.PortMapping) int32 {
	if pm == nil {
		return 0
	}
	return pm.Port
}

// tcpTaken enforces one TCP virtual service per port (§3.3: only the port
// is known, so App Mesh documents one TCP service per port per client).
// Backends are planned in name order, so the first by name wins.
func (t *translator) tcpTaken(plan *outboundPlan, vs string, port uint32) bool {
	ep := plan.ports[port]
	if ep == nil || ep.tcpService == "" {
		return false
	}
	t.warnf("backend %s: port %d already carries TCP virtual service %s; ignored", vs, port, ep.tcpService)
	return true
}

// portChain is the egress chain of one destination port.
type portChain struct {
	port  uint32
	chain ir.FilterChain
}

// egressChains builds one chain per port, in port order: an HTTP
// connection manager with route config rds_egress_<proto>_<port> (vhosts
// by name, the ALLOW_ALL catch-all last), or a TCP proxy. When a port has
// both, HTTP wins: its virtual hosts can serve many services, a TCP chain
// only one.
func (t *translator) egressChains(plan *outboundPlan) []portChain {
	var out []portChain
	for _, port := range sortedKeys(plan.ports) {
		ep := plan.ports[port]
		if len(ep.vhosts) == 0 {
			out = append(out, portChain{port, ir.FilterChain{Name: chainName("egress", appmesh.ProtocolTCP, port, ""),
				TCP: &ir.TCPProxy{StatPrefix: statPrefixEgress, Clusters: ep.tcp.Clusters, IdleTimeout: ep.tcp.IdleTimeout, AccessLogs: t.logs}}})
			continue
		}
		if ep.tcp != nil {
			t.warnf("backend %s: port %d carries HTTP virtual services; TCP service ignored", ep.tcpService, port)
		}
		proto := ep.httpProtocol()
		rc := ir.RouteConfig{Name: EgressRouteConfigName(proto, port), VirtualHosts: slices.Clone(ep.vhosts)}
		for _, vs := range plan.unrouted {
			rc.VirtualHosts = append(rc.VirtualHosts, ir.VirtualHost{Name: vs, Domains: vhostDomains(vs, port)})
		}
		slices.SortFunc(rc.VirtualHosts, func(a, b ir.VirtualHost) int { return cmp.Compare(a.Name, b.Name) })
		if t.allowAll() {
			rc.VirtualHosts = append(rc.VirtualHosts, t.allowAllVirtualHost())
		}
		t.out.RouteConfigs = append(t.out.RouteConfigs, rc)
		out = append(out, portChain{port, ir.FilterChain{Name: chainName("egress", proto, port, ""),
			HTTP: &ir.HTTPManager{StatPrefix: statPrefixEgress, RouteConfig: rc.Name, Protocol: ir.Protocol(proto),
				StreamIdleTimeout: ir.D(defaultIdleTimeout), AccessLogs: t.logs, Tracing: t.opts.Tracing}}})
	}
	return out
}

// egressListeners places the chains. Interception: one listener on the
// egress capture port, chains keyed by original destination port, the AWS
// API pass-through chain (so the listener always exists, as App Mesh's
// lds_egress did), and the ALLOW_ALL pass-through as the default chain.
// Direct: one listener per port, bound at EgressAddress:<port>.
func (t *translator) egressListeners(chains []portChain) {
	addr := t.opts.EgressAddress
	if !t.opts.Interception {
		for _, pc := range chains {
			t.out.Listeners = append(t.out.Listeners, ir.Listener{Name: EgressListenerName(addr, pc.port),
				Address: addr, Port: pc.port, Direction: ir.Outbound, FilterChains: []ir.FilterChain{pc.chain}})
		}
		return
	}
	l := ir.Listener{Name: EgressListenerName(addr, t.opts.EgressPort), Address: addr, Port: t.opts.EgressPort,
		Direction: ir.Outbound, OriginalDst: true, FilterChains: []ir.FilterChain{},
		TLSInspector: true, TLSInspectorPorts: []uint32{awsAPIPort}}
	for _, pc := range chains {
		pc.chain.Match.DestinationPort = pc.port
		l.FilterChains = append(l.FilterChains, pc.chain)
	}
	l.FilterChains = append(l.FilterChains, t.awsAPIChain())
	if t.allowAll() {
		l.DefaultChain = t.allowAllChain()
	}
	t.out.Listeners = append(t.out.Listeners, l)
}
