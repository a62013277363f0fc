package irgen

import (
	"time"

	"github.com/trellis-mesh/trellis/internal/apis/appmesh"
)

// Every App Mesh default irgen applies, in one place. Section numbers refer
// to shared/reference/appmesh-envoy-semantics.md.

// Proxy ports and addresses.
const (
	// defaultIngressPort is where iptables sends inbound traffic (§1.6,
	// APPMESH_ENVOY_INGRESS_PORT).
	defaultIngressPort uint32 = 15000
	// defaultEgressPort is where iptables sends outbound traffic (§1.6,
	// APPMESH_ENVOY_EGRESS_PORT).
	defaultEgressPort uint32 = 15001
	// defaultBindAddress is the listener bind address; it also appears in
	// listener names (lds_ingress_0.0.0.0_15000, §3.1). §4.3 binds `::`
	// with ipv4_compat when an IP preference is set; Trellis leaves that to
	// Options.IngressAddress/EgressAddress so names stay stable.
	defaultBindAddress = "0.0.0.0"
	// defaultAppAddressV4 and defaultAppAddressV6 are where the local app
	// listens: 127.0.0.1, or ::1 under IPv6_PREFERRED/IPv6_ONLY (§4.3,
	// §4.4).
	defaultAppAddressV4 = "127.0.0.1"
	defaultAppAddressV6 = "::1"
)

// Timeouts.
const (
	// localConnectTimeout is the local app cluster's connect timeout
	// (§3.1, §4.4: connect_timeout 0.25s).
	localConnectTimeout = 250 * time.Millisecond
	// backendConnectTimeout is every egress cluster's connect timeout
	// (§4.1: observed connect_timeout 1s).
	backendConnectTimeout = time.Second
	// defaultPerRequestTimeout applies to routes and HTTP-family listeners
	// without timeout.perRequest (§0.5, §3.4, §3.8: 15 s; 0 disables).
	defaultPerRequestTimeout = 15 * time.Second
	// defaultIdleTimeout applies to HTTP-family routes and listeners
	// without timeout.idle (§3.8: 300 s, Envoy's stream_idle_timeout).
	defaultIdleTimeout = 300 * time.Second
	// TCP idle has no default here: §3.8 reads the model's "default none"
	// as Envoy's tcp_proxy default (1 h), so an unset idle stays nil.
)

// Circuit breakers and weights.
const (
	// maxThreshold is App Mesh's "unlimited": every client-side (egress)
	// threshold, and every local-app threshold the listener's
	// connectionPool leaves unset (§3.11).
	maxThreshold uint32 = 2147483647
	// wholeWeight is the weight of a route's only cluster (App Mesh
	// weights are shares of 100, §3.4).
	wholeWeight uint32 = 100
)

// The hidden default retry policy applied to every route without a
// retryPolicy and to virtual-node-provided services (§0.5, §3.4
// [UG:envoy-defaults]): 2 retries on HTTP 503, gRPC UNAVAILABLE,
// connect-failure, refused-stream and reset. The exact retry_on string is
// a gap (§7); these are the documented events, sorted.
const defaultNumRetries uint32 = 2

var (
	defaultRetryOn     = []string{"connect-failure", "refused-stream", "reset", "retriable-status-codes"}
	defaultGRPCRetryOn = []string{"unavailable"}
	defaultRetryCodes  = []uint32{503}
)

// Discovery and egress.
const (
	// defaultEgressFilter is the mesh egress filter when spec.egressFilter
	// is absent (§3.6).
	defaultEgressFilter = appmesh.EgressDropAll
	// defaultDNSResponseType is the DNS discovery response type when unset:
	// LOADBALANCER = Envoy LOGICAL_DNS (§4.1).
	defaultDNSResponseType = appmesh.DNSResponseLoadBalancer
)

// Stat prefixes of connection managers and TCP proxies (§3.1).
const (
	statPrefixIngress = "ingress"
	statPrefixEgress  = "egress"
)

// ALPN offered for HTTP/2 protocols (http2, grpc) on TLS (§3.12: ALPN h2
// is what lets TLS carry HTTP/2 without prior knowledge).
var alpnH2 = []string{"h2"}
