package xdsgen

import (
	"fmt"
	"slices"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	originaldstv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/listener/original_dst/v3"
	tlsinspectorv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/listener/tls_inspector/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/trellis-mesh/trellis/internal/ir"
)

// Extension names. Envoy ignores them when a typed_config is present, but
// they show up in config dumps and stats, so they use the canonical names.
const (
	originalDstName  = "envoy.filters.listener.original_dst"
	tlsInspectorName = "envoy.filters.listener.tls_inspector"
)

// buildListener maps an IR listener. Filter chains keep the IR's order:
// Envoy picks a chain by match specificity, not order, but a stable order
// keeps goldens and config dumps readable.
func buildListener(l *ir.Listener) (*listenerv3.Listener, error) {
	dir, err := trafficDirection(l.Direction)
	if err != nil {
		return nil, fmt.Errorf("listener %q: %w", l.Name, err)
	}
	out := &listenerv3.Listener{
		Name:             l.Name,
		Address:          socketAddress(l.Address, l.Port),
		TrafficDirection: dir,
	}
	if out.ListenerFilters, err = listenerFilters(l); err != nil {
		return nil, fmt.Errorf("listener %q: %w", l.Name, err)
	}
	if l.TLSInspector {
		// A client of a server-speaks-first protocol (MySQL, SMTP) sends
		// nothing, so the inspector would wait out its timeout and then
		// close the connection; continuing lets such traffic reach the
		// plaintext or default chain after the wait instead of failing.
		out.ContinueOnListenerFiltersTimeout = true
	}
	for i := range l.FilterChains {
		fc, err := buildFilterChain(&l.FilterChains[i])
		if err != nil {
			return nil, fmt.Errorf("listener %q: %w", l.Name, err)
		}
		out.FilterChains = append(out.FilterChains, fc)
	}
	if l.DefaultChain != nil {
		if out.DefaultFilterChain, err = buildFilterChain(l.DefaultChain); err != nil {
			return nil, fmt.Errorf("listener %q: default chain: %w", l.Name, err)
		}
	}
	return out, nil
}

func trafficDirection(d ir.Direction) (corev3.TrafficDirection, error) {
	switch d {
	case ir.Inbound:
		return corev3.TrafficDirection_INBOUND, nil
	case ir.Outbound:
		return corev3.TrafficDirection_OUTBOUND, nil
	case "":
		return corev3.TrafficDirection_UNSPECIFIED, nil
	}
	return 0, fmt.Errorf("unknown direction %q", d)
}

// socketAddress builds a TCP address. A listener bound to "::" also accepts
// IPv4 (ipv4_compat), which is how App Mesh bound its listeners whenever an
// IP preference was set, so IPv4 callers keep working.
func socketAddress(addr string, port uint32) *corev3.Address {
	return &corev3.Address{Address: &corev3.Address_SocketAddress{
		SocketAddress: &corev3.SocketAddress{
			Protocol:      corev3.SocketAddress_TCP,
			Address:       addr,
			PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: port},
			Ipv4Compat:    addr == "::",
		},
	}}
}

// listenerFilters runs original_dst before tls_inspector: chain matching
// needs both the restored destination port and the transport protocol.
func listenerFilters(l *ir.Listener) ([]*listenerv3.ListenerFilter, error) {
	var out []*listenerv3.ListenerFilter
	add := func(name string, cfg proto.Message) error {
		a, err := typed(cfg)
		if err != nil {
			return err
		}
		out = append(out, &listenerv3.ListenerFilter{
			Name:       name,
			ConfigType: &listenerv3.ListenerFilter_TypedConfig{TypedConfig: a},
		})
		return nil
	}
	if l.OriginalDst {
		if err := add(originalDstName, &originaldstv3.OriginalDst{}); err != nil {
			return nil, err
		}
	}
	if l.TLSInspector {
		if err := add(tlsInspectorName, &tlsinspectorv3.TlsInspector{}); err != nil {
			return nil, err
		}
		out[len(out)-1].FilterDisabled = onlyPorts(l.TLSInspectorPorts)
	}
	return out, nil
}

// onlyPorts is a listener filter's filter_disabled predicate that leaves it
// enabled only for connections to the given destination ports; nil (no
// predicate: always enabled) when there are none.
func onlyPorts(ports []uint32) *listenerv3.ListenerFilterChainMatchPredicate {
	if len(ports) == 0 {
		return nil
	}
	var rules []*listenerv3.ListenerFilterChainMatchPredicate
	for _, p := range ports {
		rules = append(rules, &listenerv3.ListenerFilterChainMatchPredicate{
			Rule: &listenerv3.ListenerFilterChainMatchPredicate_DestinationPortRange{
				DestinationPortRange: &typev3.Int32Range{Start: int32(p), End: int32(p) + 1}}})
	}
	match := rules[0]
	if len(rules) > 1 {
		match = &listenerv3.ListenerFilterChainMatchPredicate{Rule: &listenerv3.ListenerFilterChainMatchPredicate_OrMatch{
			OrMatch: &listenerv3.ListenerFilterChainMatchPredicate_MatchSet{Rules: rules}}}
	}
	return &listenerv3.ListenerFilterChainMatchPredicate{Rule: &listenerv3.ListenerFilterChainMatchPredicate_NotMatch{NotMatch: match}}
}

// buildFilterChain maps one chain: its match, its optional TLS termination
// and exactly one terminal network filter (HCM or tcp_proxy).
func buildFilterChain(fc *ir.FilterChain) (*listenerv3.FilterChain, error) {
	out := &listenerv3.FilterChain{
		Name:             fc.Name,
		FilterChainMatch: chainMatch(fc.Match),
	}
	var err error
	switch {
	case fc.HTTP != nil && fc.TCP != nil:
		return nil, fmt.Errorf("chain %q: both http and tcp set", fc.Name)
	case fc.HTTP != nil:
		out.Filters, err = httpFilters(fc.HTTP)
	case fc.TCP != nil:
		out.Filters, err = tcpFilters(fc.TCP)
	default:
		return nil, fmt.Errorf("chain %q: neither http nor tcp set", fc.Name)
	}
	if err != nil {
		return nil, fmt.Errorf("chain %q: %w", fc.Name, err)
	}
	if fc.TLS != nil {
		if out.TransportSocket, err = downstreamTLSSocket(fc.TLS); err != nil {
			return nil, fmt.Errorf("chain %q: %w", fc.Name, err)
		}
	}
	return out, nil
}

// chainMatch returns nil for a zero match so the chain matches everything
// without an empty filter_chain_match cluttering the output.
func chainMatch(m ir.ChainMatch) *listenerv3.FilterChainMatch {
	if m.DestinationPort == 0 && m.TransportProtocol == "" && len(m.ServerNames) == 0 {
		return nil
	}
	out := &listenerv3.FilterChainMatch{
		TransportProtocol: m.TransportProtocol,
		ServerNames:       slices.Clone(m.ServerNames),
	}
	if m.DestinationPort != 0 {
		out.DestinationPort = wrapperspb.UInt32(m.DestinationPort)
	}
	return out
}
