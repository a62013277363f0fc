package ir

// Direction says whether a listener receives traffic for the local app
// (inbound) or from it (outbound).
type Direction string

// Directions.
const (
	Inbound  Direction = "inbound"
	Outbound Direction = "outbound"
)

// Listener is one Envoy listener.
type Listener struct {
	// Name follows App Mesh: lds_ingress_0.0.0.0_15000, lds_egress_0.0.0.0_15001.
	Name      string    `json:"name"`
	Address   string    `json:"address"`
	Port      uint32    `json:"port"`
	Direction Direction `json:"direction"`
	// OriginalDst restores the pre-redirect destination (iptables
	// interception), so chains can match on the app's port.
	OriginalDst bool `json:"originalDst,omitempty"`
	// TLSInspector lets chains match on TLS vs plaintext or SNI.
	TLSInspector bool `json:"tlsInspector,omitempty"`
	// TLSInspectorPorts, when set, limits the inspector to connections
	// whose (original) destination port is one of these; others skip it,
	// so a server-speaks-first protocol elsewhere is not held up.
	TLSInspectorPorts []uint32      `json:"tlsInspectorPorts,omitempty"`
	FilterChains      []FilterChain `json:"filterChains"`
	// DefaultChain, when set, takes connections no chain matches.
	DefaultChain *FilterChain `json:"defaultChain,omitempty"`
}

// FilterChain is one way a listener handles a connection: HTTP through a
// connection manager and a route table, or TCP straight to clusters.
// Exactly one of HTTP and TCP is set.
type FilterChain struct {
	Name  string     `json:"name"`
	Match ChainMatch `json:"match,omitempty"`
	// TLS terminates TLS on this chain.
	TLS  *DownstreamTLS `json:"tls,omitempty"`
	HTTP *HTTPManager   `json:"http,omitempty"`
	TCP  *TCPProxy      `json:"tcp,omitempty"`
}

// ChainMatch selects connections; zero fields match anything.
type ChainMatch struct {
	DestinationPort uint32 `json:"destinationPort,omitempty"`
	// TransportProtocol is "tls" or "raw_buffer" (needs TLSInspector).
	TransportProtocol string   `json:"transportProtocol,omitempty"`
	ServerNames       []string `json:"serverNames,omitempty"`
}

// HTTPManager is an HTTP connection manager fed by a route config (RDS).
type HTTPManager struct {
	StatPrefix string `json:"statPrefix"`
	// RouteConfig names an entry of Proxy.RouteConfigs.
	RouteConfig string `json:"routeConfig"`
	// Protocol picks the downstream codec: http → HTTP/1.1 (and upgrades),
	// http2/grpc → HTTP/2 only.
	Protocol Protocol `json:"protocol"`
	// StreamIdleTimeout: nil leaves Envoy's default (300 s); 0 disables.
	StreamIdleTimeout *Duration   `json:"streamIdleTimeout,omitempty"`
	AccessLogs        []AccessLog `json:"accessLogs,omitempty"`
	// Tracing gives the manager an empty tracing block, so the tracer of
	// the proxy's bootstrap (if any) traces its requests.
	Tracing bool `json:"tracing,omitempty"`
	// ForwardClientCert sets x-forwarded-client-cert towards the app with
	// the verified client certificate's URI SAN (its SPIFFE id) and
	// subject, replacing whatever the client sent; false strips it.
	ForwardClientCert bool `json:"forwardClientCert,omitempty"`
}

// TCPProxy forwards a connection to one of weighted clusters.
type TCPProxy struct {
	StatPrefix string            `json:"statPrefix"`
	Clusters   []WeightedCluster `json:"clusters"`
	// IdleTimeout: nil leaves Envoy's default (1 h); 0 disables.
	IdleTimeout *Duration   `json:"idleTimeout,omitempty"`
	AccessLogs  []AccessLog `json:"accessLogs,omitempty"`
}

// WeightedCluster is a cluster and its relative weight.
type WeightedCluster struct {
	Name   string `json:"name"`
	Weight uint32 `json:"weight"`
}
