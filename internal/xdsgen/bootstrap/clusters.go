package bootstrap

import (
	"fmt"
	"net/netip"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	upstreamhttpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// Static cluster settings. The keepalives detect a dead control plane (or
// a half-open connection through a NAT or load balancer) in about 30 s, so
// Envoy reconnects instead of waiting on a stream that will never deliver;
// the HTTP/2 values are the gRPC keepalives App Mesh's bootstrap used.
const (
	staticConnectTimeout = time.Second
	h2PingInterval       = 10 * time.Second
	h2PingTimeout        = 20 * time.Second
	tcpKeepaliveTime     = 10 // seconds idle before the first probe
	tcpKeepaliveInterval = 5  // seconds between probes
	tcpKeepaliveProbes   = 3

	// Failover health check of the xDS cluster (see failoverHealthCheck).
	failoverInterval = 2 * time.Second
	failoverTimeout  = time.Second
	failoverJitter   = 500 * time.Millisecond
)

// staticClusters returns xds_cluster and, with an SDS socket, the SDS
// cluster.
func staticClusters(c *Config) ([]*clusterv3.Cluster, error) {
	xds, err := xdsCluster(c)
	if err != nil {
		return nil, err
	}
	out := []*clusterv3.Cluster{xds}
	if c.SDSSocketPath != "" {
		sds, err := grpcCluster(SDSCluster, clusterv3.Cluster_STATIC, pipeAddress(c.SDSSocketPath))
		if err != nil {
			return nil, err
		}
		out = append(out, sds)
	}
	return out, nil
}

// xdsCluster reaches the server: over a Unix socket, or at every address
// of XDSHost:XDSPort and XDSReplicas. All IPs give a STATIC cluster; any
// hostname a STRICT_DNS one, so every address behind the name is used.
// With more than one server possible (several endpoints, or a name), a
// connect-only TCP health check marks a dead replica within about
// failoverInterval+failoverTimeout, so the load balancer places the ADS
// stream Envoy reopens on a live one. Envoy keeps serving its last
// configuration while it has no stream.
func xdsCluster(c *Config) (*clusterv3.Cluster, error) {
	if c.XDSUnixSocket != "" {
		return grpcCluster(XDSCluster, clusterv3.Cluster_STATIC, pipeAddress(c.XDSUnixSocket))
	}
	servers := append([]HostPort{{Host: c.XDSHost, Port: c.XDSPort}}, c.XDSReplicas...)
	typ := clusterv3.Cluster_STATIC
	addrs := make([]*corev3.Address, len(servers))
	for i, s := range servers {
		if _, err := netip.ParseAddr(s.Host); err != nil {
			typ = clusterv3.Cluster_STRICT_DNS
		}
		addrs[i] = socketAddress(s.Host, s.Port)
	}
	out, err := grpcCluster(XDSCluster, typ, addrs...)
	if err != nil {
		return nil, err
	}
	out.UpstreamConnectionOptions = &clusterv3.UpstreamConnectionOptions{
		TcpKeepalive: &corev3.TcpKeepalive{
			KeepaliveTime:     wrapperspb.UInt32(tcpKeepaliveTime),
			KeepaliveInterval: wrapperspb.UInt32(tcpKeepaliveInterval),
			KeepaliveProbes:   wrapperspb.UInt32(tcpKeepaliveProbes),
		},
	}
	if len(servers) > 1 || typ == clusterv3.Cluster_STRICT_DNS {
		out.HealthChecks = []*corev3.HealthCheck{failoverHealthCheck()}
	}
	return out, applyXDSTLS(c, out)
}

// failoverHealthCheck is a connect-only TCP check: a replica whose port
// refuses connections is out after one failure and back after one success.
// no_traffic_interval matters: the ADS stream is not "traffic" to Envoy's
// checker, whose default would otherwise slow checks to one a minute.
func failoverHealthCheck() *corev3.HealthCheck {
	return &corev3.HealthCheck{
		Timeout:            durationpb.New(failoverTimeout),
		Interval:           durationpb.New(failoverInterval),
		IntervalJitter:     durationpb.New(failoverJitter),
		NoTrafficInterval:  durationpb.New(failoverInterval),
		UnhealthyThreshold: wrapperspb.UInt32(1),
		HealthyThreshold:   wrapperspb.UInt32(1),
		HealthChecker:      &corev3.HealthCheck_TcpHealthCheck_{TcpHealthCheck: &corev3.HealthCheck_TcpHealthCheck{}},
	}
}

// grpcCluster is an HTTP/2 cluster for a gRPC service at addrs.
func grpcCluster(name string, typ clusterv3.Cluster_DiscoveryType, addrs ...*corev3.Address) (*clusterv3.Cluster, error) {
	opts, err := anypb.New(&upstreamhttpv3.HttpProtocolOptions{
		UpstreamProtocolOptions: &upstreamhttpv3.HttpProtocolOptions_ExplicitHttpConfig_{
			ExplicitHttpConfig: &upstreamhttpv3.HttpProtocolOptions_ExplicitHttpConfig{
				ProtocolConfig: &upstreamhttpv3.HttpProtocolOptions_ExplicitHttpConfig_Http2ProtocolOptions{
					Http2ProtocolOptions: &corev3.Http2ProtocolOptions{
						ConnectionKeepalive: &corev3.KeepaliveSettings{
							Interval: durationpb.New(h2PingInterval),
							Timeout:  durationpb.New(h2PingTimeout),
						},
					},
				},
			},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("cluster %s: %w", name, err)
	}
	lbs := make([]*endpointv3.LbEndpoint, len(addrs))
	for i, a := range addrs {
		lbs[i] = &endpointv3.LbEndpoint{HostIdentifier: &endpointv3.LbEndpoint_Endpoint{Endpoint: &endpointv3.Endpoint{Address: a}}}
	}
	return &clusterv3.Cluster{
		Name:                 name,
		ClusterDiscoveryType: &clusterv3.Cluster_Type{Type: typ},
		ConnectTimeout:       durationpb.New(staticConnectTimeout),
		TypedExtensionProtocolOptions: map[string]*anypb.Any{
			"envoy.extensions.upstreams.http.v3.HttpProtocolOptions": opts,
		},
		LoadAssignment: &endpointv3.ClusterLoadAssignment{
			ClusterName: name,
			Endpoints:   []*endpointv3.LocalityLbEndpoints{{LbEndpoints: lbs}},
		},
	}, nil
}

func socketAddress(addr string, port uint32) *corev3.Address {
	return &corev3.Address{Address: &corev3.Address_SocketAddress{SocketAddress: &corev3.SocketAddress{
		Address:       addr,
		PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: port},
	}}}
}

func pipeAddress(path string) *corev3.Address {
	return &corev3.Address{Address: &corev3.Address_Pipe{Pipe: &corev3.Pipe{Path: path}}}
}
