package xdsgen

import (
	"fmt"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	upstreamhttpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/trellis-mesh/trellis/internal/ir"
)

// httpProtocolOptionsKey is the typed_extension_protocol_options key Envoy
// looks up for upstream HTTP settings.
const httpProtocolOptionsKey = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"

// buildCluster maps a cluster. EDS clusters also return their load
// assignment, which travels as a separate resource; every other kind with
// hosts carries it inline.
func buildCluster(c *ir.Cluster) (*clusterv3.Cluster, *endpointv3.ClusterLoadAssignment, error) {
	out := &clusterv3.Cluster{Name: c.Name}
	cla, err := discovery(out, c)
	if err != nil {
		return nil, nil, fmt.Errorf("cluster %q: %w", c.Name, err)
	}
	if c.ConnectTimeout > 0 {
		out.ConnectTimeout = durationpb.New(c.ConnectTimeout.Std())
	}
	if out.TypedExtensionProtocolOptions, err = protocolOptions(c.Protocol); err != nil {
		return nil, nil, fmt.Errorf("cluster %q: %w", c.Name, err)
	}
	out.CircuitBreakers = circuitBreakers(c.CircuitBreakers)
	out.OutlierDetection = outlierDetection(c.OutlierDetection)
	if out.HealthChecks, err = healthChecks(c.HealthChecks); err != nil {
		return nil, nil, fmt.Errorf("cluster %q: %w", c.Name, err)
	}
	// A host that discovery removed leaves at once, even while it still
	// passes active checks; Envoy's default keeps it as
	// pending_dynamic_removal, serving traffic, until a check fails.
	out.IgnoreHealthOnHostRemoval = len(out.HealthChecks) > 0
	if c.TLS != nil {
		if out.TransportSocket, err = upstreamTLSSocket(c.TLS); err != nil {
			return nil, nil, fmt.Errorf("cluster %q: %w", c.Name, err)
		}
	}
	return out, cla, nil
}

// discovery sets the cluster type, its load balancer and where hosts come
// from. It returns the load assignment of an EDS cluster.
func discovery(out *clusterv3.Cluster, c *ir.Cluster) (*endpointv3.ClusterLoadAssignment, error) {
	setType := func(t clusterv3.Cluster_DiscoveryType) {
		out.ClusterDiscoveryType = &clusterv3.Cluster_Type{Type: t}
	}
	switch c.Discovery {
	case ir.Static:
		setType(clusterv3.Cluster_STATIC)
		out.LoadAssignment = loadAssignment(c.Name, c.Endpoints)
	case ir.StrictDNS, ir.LogicalDNS:
		setType(clusterv3.Cluster_STRICT_DNS)
		if c.Discovery == ir.LogicalDNS {
			setType(clusterv3.Cluster_LOGICAL_DNS)
		}
		out.LoadAssignment = loadAssignment(c.Name, c.Endpoints)
		family, err := dnsFamily(c.DNSFamily)
		if err != nil {
			return nil, err
		}
		out.DnsLookupFamily = family
	case ir.EDS:
		setType(clusterv3.Cluster_EDS)
		out.EdsClusterConfig = &clusterv3.Cluster_EdsClusterConfig{EdsConfig: adsSource()}
		return loadAssignment(c.Name, c.Endpoints), nil
	case ir.OriginalDst:
		if len(c.Endpoints) > 0 {
			return nil, fmt.Errorf("original_dst cluster takes no endpoints")
		}
		// The host is the connection's restored destination, so the
		// cluster itself chooses it.
		setType(clusterv3.Cluster_ORIGINAL_DST)
		out.LbPolicy = clusterv3.Cluster_CLUSTER_PROVIDED
		// An ip:port Host names the destination when there is no restored
		// one (proxies without interception); Envoy falls back to the
		// connection's original destination when the header is not one.
		out.LbConfig = &clusterv3.Cluster_OriginalDstLbConfig_{OriginalDstLbConfig: &clusterv3.Cluster_OriginalDstLbConfig{
			UseHttpHeader: true, HttpHeaderName: ":authority"}}
	default:
		return nil, fmt.Errorf("unknown discovery %q", c.Discovery)
	}
	return nil, nil
}

// dnsFamily maps the App Mesh IP preference family. Unset keeps Envoy's
// default (AUTO, which is also App Mesh's "no preference").
func dnsFamily(f ir.DNSFamily) (clusterv3.Cluster_DnsLookupFamily, error) {
	switch f {
	case "", ir.DNSAuto:
		return clusterv3.Cluster_AUTO, nil
	case ir.DNSV4Only:
		return clusterv3.Cluster_V4_ONLY, nil
	case ir.DNSV6Only:
		return clusterv3.Cluster_V6_ONLY, nil
	case ir.DNSV4Preferred:
		return clusterv3.Cluster_V4_PREFERRED, nil
	}
	return 0, fmt.Errorf("unknown dns family %q", f)
}

// protocolOptions makes http2/grpc clusters speak HTTP/2 upstream. Plain
// http and tcp clusters need nothing: HTTP/1.1 is the upstream default.
func protocolOptions(p ir.Protocol) (map[string]*anypb.Any, error) {
	switch p {
	case ir.HTTP2, ir.GRPC:
	case "", ir.HTTP, ir.TCP:
		return nil, nil
	default:
		return nil, fmt.Errorf("unknown protocol %q", p)
	}
	a, err := typed(&upstreamhttpv3.HttpProtocolOptions{
		UpstreamProtocolOptions: &upstreamhttpv3.HttpProtocolOptions_ExplicitHttpConfig_{
			ExplicitHttpConfig: &upstreamhttpv3.HttpProtocolOptions_ExplicitHttpConfig{
				ProtocolConfig: &upstreamhttpv3.HttpProtocolOptions_ExplicitHttpConfig_Http2ProtocolOptions{
					Http2ProtocolOptions: &corev3.Http2ProtocolOptions{},
				},
			},
		},
	})
	if err != nil {
		return nil, err
	}
	return map[string]*anypb.Any{httpProtocolOptionsKey: a}, nil
}

// circuitBreakers sets default-priority thresholds. A zero field means
// "not configured" and keeps Envoy's default, since a zero limit would
// refuse all traffic, which no App Mesh setting asks for.
func circuitBreakers(cb *ir.CircuitBreakers) *clusterv3.CircuitBreakers {
	if cb == nil {
		return nil
	}
	t := &clusterv3.CircuitBreakers_Thresholds{
		Priority:           corev3.RoutingPriority_DEFAULT,
		MaxConnections:     optUInt32(cb.MaxConnections),
		MaxPendingRequests: optUInt32(cb.MaxPendingRequests),
		MaxRequests:        optUInt32(cb.MaxRequests),
		MaxRetries:         optUInt32(cb.MaxRetries),
	}
	return &clusterv3.CircuitBreakers{Thresholds: []*clusterv3.CircuitBreakers_Thresholds{t}}
}

// outlierDetection ejects hosts after consecutive 5xx (App Mesh's
// maxServerErrors) and nothing else: consecutive-5xx ejection is always
// enforced, success-rate ejection (on by default in Envoy once a cluster
// has 5 hosts) never is, and gateway-failure and failure-percentage
// ejection keep Envoy's default of not enforcing. An ejection lasts
// base_ejection_time × times ejected, as App Mesh documents, whatever
// active health checks say: a passing check does not re-admit the host.
// Zero counts and durations keep Envoy's defaults. The ejection percentage
// is always set: App Mesh requires it, and 0 is meaningful (Envoy still
// ejects one host). Envoy's default 50 % panic threshold applies, as on
// App Mesh: once ejected and unhealthy hosts leave fewer than half
// healthy, the cluster spreads traffic over all hosts.
func outlierDetection(o *ir.OutlierDetection) *clusterv3.OutlierDetection {
	if o == nil {
		return nil
	}
	return &clusterv3.OutlierDetection{
		Consecutive_5Xx:                        optUInt32(o.Consecutive5xx),
		EnforcingConsecutive_5Xx:               wrapperspb.UInt32(100),
		EnforcingSuccessRate:                   wrapperspb.UInt32(0),
		Interval:                               optDuration(o.Interval),
		BaseEjectionTime:                       optDuration(o.BaseEjectionTime),
		MaxEjectionPercent:                     wrapperspb.UInt32(o.MaxEjectionPercent),
		SuccessfulActiveHealthCheckUnejectHost: wrapperspb.Bool(false),
	}
}

func optUInt32(v uint32) *wrapperspb.UInt32Value {
	if v == 0 {
		return nil
	}
	return wrapperspb.UInt32(v)
}

func optDuration(d ir.Duration) *durationpb.Duration {
	if d == 0 {
		return nil
	}
	return durationpb.New(d.Std())
}
