package irgen

import (
	"cmp"

	"github.com/trellis-mesh/trellis/internal/apis/appmesh"
	"github.com/trellis-mesh/trellis/internal/ir"
)

// The mesh egress filter (§3.6). DROP_ALL, the default, adds nothing of
// its own: a Host no backend claims gets 404 from the port's route config,
// a port no backend uses has no chain.
//
// AWS APIs pass under either filter, as App Mesh documents for DROP_ALL
// ("and any traffic to *.amazonaws.com for AWS API calls"), with App
// Mesh's mechanism: under interception the egress listener has a chain
// {destination_port 443, server_names *.amazonaws.com} whose tcp_proxy
// goes to the ORIGINAL_DST cluster cds_egress_<mesh>_amazonaws. The SNI
// comes from the TLS inspector, which only looks at connections to 443, so
// server-speaks-first protocols on other ports are not held up. The direct
// shape has no original destination, hence no such chain.
//
// ALLOW_ALL adds the pass-through cluster cds_egress_<mesh>_mesh-allow-all
// (ORIGINAL_DST): the default chain of the interception egress listener
// (any port without a backend chain) and a final catch-all virtual host of
// every egress route config (any Host no backend claims).
//
// In the direct shape there is no original destination to restore, so the
// catch-all virtual host is the only pass-through, and the destination
// must come from the request: xdsgen sets the ORIGINAL_DST cluster's
// original_dst_lb_config to use_http_header with http_header_name
// ":authority" (Envoy's name for Host). Envoy does not resolve that value,
// so it must be an ip:port. One cluster serves both shapes: when the header
// is not an ip:port (the usual Host under interception) Envoy falls back to
// the connection's restored original destination.

// allowAll reports whether the mesh's egress filter is ALLOW_ALL.
func (t *translator) allowAll() bool {
	typ := ""
	if ef := t.meshSpec().EgressFilter; ef != nil {
		typ = ef.Type
	}
	return cmp.Or(typ, defaultEgressFilter) == appmesh.EgressAllowAll
}

// allowAllCluster adds the pass-through cluster (client-side breakers, as
// every cds_egress_* cluster, §3.11) and returns its name.
func (t *translator) allowAllCluster() string {
	name := AllowAllClusterName(t.mesh.Name)
	t.addCluster(&ir.Cluster{Name: name, Discovery: ir.OriginalDst,
		ConnectTimeout: ir.Duration(backendConnectTimeout), CircuitBreakers: clientCircuitBreakers()})
	return name
}

// allowAllVirtualHost catches every Host no backend claims. It carries no
// mesh policy (no retries; Envoy's default timeout): the traffic is not to
// a modelled service.
//
// Without interception the connection's own destination is this listener,
// so a Host that is not an ip:port would send the request back into Envoy
// forever: the direct shape passes only ip:port Hosts and 404s the rest.
func (t *translator) allowAllVirtualHost() ir.VirtualHost {
	match := ir.RouteMatch{Prefix: "/"}
	if !t.opts.Interception {
		re := ipPortAuthority
		match.Headers = []ir.HeaderMatch{{Name: ":authority", Regex: &re}}
	}
	return ir.VirtualHost{Name: allowAllVirtualHost, Domains: []string{"*"}, Routes: []ir.Route{{
		Name:   allowAllVirtualHost,
		Match:  match,
		Action: ir.RouteAction{Clusters: []ir.WeightedCluster{{Name: t.allowAllCluster(), Weight: wholeWeight}}},
	}}}
}

// ipPortAuthority matches an IPv4 or bracketed IPv6 address with a port.
const ipPortAuthority = `^((\d{1,3}\.){3}\d{1,3}|\[[0-9a-fA-F:.]+\]):\d{1,5}$`

// allowAllChain forwards any other connection to its original destination.
func (t *translator) allowAllChain() *ir.FilterChain {
	return &ir.FilterChain{Name: allowAllVirtualHost, TCP: &ir.TCPProxy{StatPrefix: statPrefixEgress,
		Clusters: []ir.WeightedCluster{{Name: t.allowAllCluster(), Weight: wholeWeight}}, AccessLogs: t.logs}}
}

// awsAPIPort and awsAPIServerName select App Mesh's AWS API pass-through.
const (
	awsAPIPort       = 443
	awsAPIServerName = "*.amazonaws.com"
)

// awsAPIChain passes TLS to *.amazonaws.com:443 to its original
// destination, whatever the egress filter.
func (t *translator) awsAPIChain() ir.FilterChain {
	name := AWSAPIClusterName(t.mesh.Name)
	t.addCluster(&ir.Cluster{Name: name, Discovery: ir.OriginalDst,
		ConnectTimeout: ir.Duration(backendConnectTimeout), CircuitBreakers: clientCircuitBreakers()})
	return ir.FilterChain{Name: "amazonaws",
		Match: ir.ChainMatch{DestinationPort: awsAPIPort, ServerNames: []string{awsAPIServerName}},
		TCP: &ir.TCPProxy{StatPrefix: statPrefixEgress,
			Clusters: []ir.WeightedCluster{{Name: name, Weight: wholeWeight}}, AccessLogs: t.logs}}
}
