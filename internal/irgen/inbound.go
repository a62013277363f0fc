package irgen

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/trellis-mesh/trellis/internal/apis/appmesh"
	"github.com/trellis-mesh/trellis/internal/ir"
)

// inbound translates the node's listeners (§3.2, §4.4): per listener a
// local app cluster and a filter chain, an HTTP connection manager with a
// one-route table for http/http2/grpc or a TCP proxy for tcp. A node
// without listeners gets no ingress listener at all (§3.1).
func (t *translator) inbound() {
	ls := sortedListeners(t.node.Spec.Listeners)
	if len(ls) == 0 {
		return
	}
	multi := len(ls) > 1
	addr := t.opts.IngressAddress
	if t.opts.Interception {
		// iptables shape: one listener on the capture port; chains pick the
		// virtual-node listener by the original destination port.
		shared := ir.Listener{Name: IngressListenerName(addr, t.opts.IngressPort), Address: addr,
			Port: t.opts.IngressPort, Direction: ir.Inbound, OriginalDst: true}
		for _, l := range ls {
			chains, inspect := t.inboundChains(l, multi)
			shared.FilterChains = append(shared.FilterChains, chains...)
			shared.TLSInspector = shared.TLSInspector || inspect
		}
		t.out.Listeners = append(t.out.Listeners, shared)
		return
	}
	for _, l := range ls {
		port := uint32(l.PortMapping.Port)
		chains, inspect := t.inboundChains(l, multi)
		t.out.Listeners = append(t.out.Listeners, ir.Listener{Name: IngressListenerName(addr, port),
			Address: addr, Port: port, Direction: ir.Inbound, TLSInspector: inspect, FilterChains: chains})
	}
}

// sortedListeners returns the listeners that have a port mapping, by port.
func sortedListeners(ls []appmesh.Listener) []*appmesh.Listener {
	out := make([]*appmesh.Listener, 0, len(ls))
	for i := range ls {
		if ls[i].PortMapping != nil {
			out = append(out, &ls[i])
		}
	}
	slices.SortFunc(out, func(a, b *appmesh.Listener) int { return cmp.Compare(a.PortMapping.Port, b.PortMapping.Port) })
	return out
}

// inboundChains builds the chains of one listener and says whether they
// need the TLS inspector. Listener TLS (§3.12): STRICT terminates TLS on
// the chain; PERMISSIVE splits it into a TLS chain and a plaintext chain
// keyed on the detected transport protocol (the reference's inference of
// how EMS did it); DISABLED and no TLS stay plaintext.
func (t *translator) inboundChains(l *appmesh.Listener, multi bool) ([]ir.FilterChain, bool) {
	port, proto := uint32(l.PortMapping.Port), l.PortMapping.Protocol
	t.addCluster(t.localCluster(l))
	base := ir.FilterChain{Name: chainName("ingress", proto, port, "")}
	if ir.Protocol(proto).IsHTTP() {
		base.HTTP = t.ingressHTTP(l, multi)
	} else {
		base.TCP = &ir.TCPProxy{StatPrefix: ingressStatPrefix(proto, port, multi),
			Clusters:    []ir.WeightedCluster{{Name: t.localClusterName(proto, port), Weight: wholeWeight}},
			IdleTimeout: listenerTCPIdle(l.Timeout), AccessLogs: t.logs}
	}
	if t.opts.Interception {
		base.Match.DestinationPort = port
	}
	tls, mode := t.listenerTLS(l, proto, port)
	if t.autoMTLSListener(l) {
		tls, mode = t.autoListenerTLS(proto)
	}
	return tlsChains(base, tls, mode, proto, port)
}

// tlsChains applies a listener's TLS mode to its chain (nodes and gateways
// alike): STRICT terminates TLS on it, PERMISSIVE splits it into a TLS and
// a plaintext chain on the detected transport protocol, anything else
// stays plaintext. An HTTP chain that verifies client certificates (mTLS)
// forwards the caller's identity to the app in x-forwarded-client-cert;
// the plaintext chain keeps stripping it. It says whether the listener
// needs the TLS inspector.
func tlsChains(base ir.FilterChain, tls *ir.DownstreamTLS, mode, proto string, port uint32) ([]ir.FilterChain, bool) {
	secure := base
	secure.TLS = tls
	if tls != nil && tls.Trust != nil && base.HTTP != nil {
		h := *base.HTTP
		h.ForwardClientCert = true
		secure.HTTP = &h
	}
	switch mode {
	case appmesh.TLSModeStrict:
		return []ir.FilterChain{secure}, false
	case appmesh.TLSModePermissive:
		plain := base
		secure.Name, plain.Name = chainName("ingress", proto, port, "tls"), chainName("ingress", proto, port, "plaintext")
		secure.Match.TransportProtocol, plain.Match.TransportProtocol = "tls", "raw_buffer"
		return []ir.FilterChain{secure, plain}, true
	}
	return []ir.FilterChain{base}, false
}

// ingressHTTP builds the connection manager of an HTTP-family listener and
// its route config: one virtual host for any Host, one route "/" (gRPC
// requests only on grpc listeners) to the local app, with the listener's
// per-request timeout (default 15 s) and idle timeout (default 300 s) as
// the stream idle timeout (§3.8).
func (t *translator) ingressHTTP(l *appmesh.Listener, multi bool) *ir.HTTPManager {
	port, proto := uint32(l.PortMapping.Port), l.PortMapping.Protocol
	to := listenerHTTPTimeouts(l.Timeout, proto)
	rc := IngressRouteConfigName(proto, port)
	route := ir.Route{Name: ingressVirtualHost,
		Match: ir.RouteMatch{Prefix: "/", GRPC: proto == appmesh.ProtocolGRPC},
		Action: ir.RouteAction{Timeout: to.perRequest,
			Clusters: []ir.WeightedCluster{{Name: t.localClusterName(proto, port), Weight: wholeWeight}}}}
	t.out.RouteConfigs = append(t.out.RouteConfigs, ir.RouteConfig{Name: rc, VirtualHosts: []ir.VirtualHost{
		{Name: ingressVirtualHost, Domains: []string{"*"}, Routes: []ir.Route{route}}}})
	return &ir.HTTPManager{StatPrefix: ingressStatPrefix(proto, port, multi), RouteConfig: rc,
		Protocol: ir.Protocol(proto), StreamIdleTimeout: to.idle, AccessLogs: t.logs, Tracing: t.opts.Tracing}
}

// ingressStatPrefix is "ingress", or ingress.<proto>.<port> when the node
// has several listeners (images >= 1.22.2.1, §3.1).
func ingressStatPrefix(proto string, port uint32, multi bool) string {
	if !multi {
		return statPrefixIngress
	}
	return fmt.Sprintf("%s.%s.%d", statPrefixIngress, proto, port)
}

func (t *translator) localClusterName(proto string, port uint32) string {
	return IngressClusterName(t.mesh.Name, t.node.Name, proto, port)
}

// localCluster is the local app behind one listener (§4.4): STATIC at
// AppAddress:AppPorts[port], 0.25 s connect timeout, HTTP/2 for http2 and
// grpc, circuit breakers from the listener's connection pool (§3.11).
func (t *translator) localCluster(l *appmesh.Listener) *ir.Cluster {
	port, proto := uint32(l.PortMapping.Port), l.PortMapping.Protocol
	return &ir.Cluster{
		Name:            t.localClusterName(proto, port),
		Discovery:       ir.Static,
		Endpoints:       []ir.Endpoint{{Address: t.opts.AppAddress, Port: t.opts.appPort(port)}},
		ConnectTimeout:  ir.Duration(localConnectTimeout),
		Protocol:        ir.Protocol(proto),
		CircuitBreakers: localCircuitBreakers(l.ConnectionPool),
	}
}
