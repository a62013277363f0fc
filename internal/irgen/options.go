package irgen

import (
	"maps"
	"slices"
	"strconv"

	"github.com/trellis-mesh/trellis/internal/ir"
)

// Proxy kinds of a NodeRef (the segment of the Envoy node id).
const (
	KindVirtualNode    = "virtualNode"
	KindVirtualGateway = "virtualGateway"
)

// NodeRef names the proxy: a virtual node (Kind "virtualNode") or a
// virtual gateway (Kind "virtualGateway") of a mesh.
type NodeRef struct{ Mesh, Kind, Name string }

// Options are per-proxy facts that come from the proxy's node metadata, not
// the mesh. The zero value is App Mesh's sidecar without interception.
type Options struct {
	// Interception true = App Mesh's iptables shape: one ingress listener
	// lds_ingress_<IngressAddress>_<IngressPort> with original_dst and a
	// filter chain per virtual-node listener port (destination_port
	// match), one egress listener lds_egress_<EgressAddress>_<EgressPort>
	// with original_dst and a chain per backend port.
	//
	// false = "direct" shape for hosts without iptables (tests, demos on
	// loopback): one ingress listener per virtual-node listener,
	// lds_ingress_<IngressAddress>_<port> bound at IngressAddress:<port>;
	// one egress listener per distinct backend port,
	// lds_egress_<EgressAddress>_<port> bound at EgressAddress:<port>. The
	// app calls EgressAddress:<virtual service port> with Host = the
	// virtual service name. The caller picks addresses and AppPorts so the
	// binds do not collide with the app.
	Interception bool
	// IngressPort and EgressPort are the interception ports (defaults
	// 15000, 15001); unused in the direct shape.
	IngressPort, EgressPort uint32
	// IngressAddress and EgressAddress are bind addresses (default
	// 0.0.0.0); they appear in listener names.
	IngressAddress, EgressAddress string
	// AppAddress is where the local app listens (default 127.0.0.1, or ::1
	// when the node prefers IPv6, §4.3).
	AppAddress string
	// AppPorts maps a virtual-node listener port to the app's real port
	// (default: the same port).
	AppPorts map[uint32]uint32
	// Tracing: the proxy's bootstrap has a tracer, so every HTTP manager
	// gets a tracing block (App Mesh set one on every manager).
	Tracing bool
	// TrustDomain names the SPIFFE trust domain of auto-mTLS identities
	// (mtls.go); empty means DefaultTrustDomain.
	TrustDomain string
}

// Endpoints resolves registry-backed discovery (serviceDiscovery.awsCloudMap):
// the instances of namespace/service whose attributes include every given
// pair, with the address the registry picked for them. A nil Endpoints, or
// no instances, gives an EDS cluster with no endpoints. An endpoint with
// port 0 gets the target listener's port.
type Endpoints interface {
	Lookup(namespace, service string, attributes map[string]string) []ir.Endpoint
}

// key encodes every option, for telling equal options apart cheaply
// (irgen.Cache keys shared parts with it). TestOptionsKey fails when a
// field is added and not encoded here.
func (o Options) key() string {
	b := make([]byte, 0, 64+8*len(o.AppPorts))
	b = strconv.AppendBool(b, o.Interception)
	b = strconv.AppendBool(append(b, ' '), o.Tracing)
	for _, p := range []uint32{o.IngressPort, o.EgressPort} {
		b = strconv.AppendUint(append(b, ' '), uint64(p), 10)
	}
	for _, a := range []string{o.IngressAddress, o.EgressAddress, o.AppAddress, o.TrustDomain} {
		b = strconv.AppendQuote(append(b, ' '), a)
	}
	for _, p := range slices.Sorted(maps.Keys(o.AppPorts)) {
		b = strconv.AppendUint(append(b, ' '), uint64(p), 10)
		b = strconv.AppendUint(append(b, ':'), uint64(o.AppPorts[p]), 10)
	}
	return string(b)
}

// withDefaults fills unset options. ipv6 says whether the node prefers IPv6
// for its local app (§4.3).
func (o Options) withDefaults(ipv6 bool) Options {
	if o.IngressPort == 0 {
		o.IngressPort = defaultIngressPort
	}
	if o.EgressPort == 0 {
		o.EgressPort = defaultEgressPort
	}
	if o.IngressAddress == "" {
		o.IngressAddress = defaultBindAddress
	}
	if o.EgressAddress == "" {
		o.EgressAddress = defaultBindAddress
	}
	if o.AppAddress == "" {
		o.AppAddress = defaultAppAddressV4
		if ipv6 {
			o.AppAddress = defaultAppAddressV6
		}
	}
	return o
}

// appPort is the app's real port behind virtual-node listener port p.
func (o Options) appPort(p uint32) uint32 {
	if ap, ok := o.AppPorts[p]; ok && ap != 0 {
		return ap
	}
	return p
}
