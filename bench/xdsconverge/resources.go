package main

import (
	"fmt"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	routerv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// Shape of every node's configuration, roughly one App Mesh virtual node
// with nine backends: the local app cluster plus nine DNS backends, an
// ingress and an egress listener, each with its RDS route configuration.
const (
	backends   = 9
	routeNames = 2
)

// The route configuration names every simulated Envoy subscribes to.
var rdsNames = []string{"rds_ingress_http_8080", "rds_egress_http_15001"}

// nodeID names simulated proxy i.
func nodeID(i int) string { return fmt.Sprintf("mesh/bench/virtualNode/vn-%04d", i) }

// nodeConfig holds one node's resources; only routes change per version.
type nodeConfig struct {
	clusters  []types.Resource
	listeners []types.Resource
}

// newNodeConfig builds node i's clusters and listeners. Every node gets its
// own protos, as xdsgen would build them, so heap figures are per node.
func newNodeConfig(i int) (nodeConfig, error) {
	nc := nodeConfig{clusters: []types.Resource{dnsCluster(fmt.Sprintf("cds_ingress_bench_vn-%04d_http_8080", i), "127.0.0.1", 8080)}}
	for b := range backends {
		name := fmt.Sprintf("cds_egress_bench_vn-%04d_backend-%d_http_8080", i, b)
		nc.clusters = append(nc.clusters, dnsCluster(name, fmt.Sprintf("backend-%d.bench.svc.cluster.local", b), 8080))
	}
	for j, port := range []uint32{15000, 15001} {
		l, err := httpListener(fmt.Sprintf("lds_%d_0.0.0.0_%d", j, port), port, rdsNames[j])
		if err != nil {
			return nodeConfig{}, err
		}
		nc.listeners = append(nc.listeners, l)
	}
	return nc, nil
}

// resources is node i's full set at a version: the routes' weights move
// with the version, everything else stays.
func (nc nodeConfig) resources(version int) map[string][]types.Resource {
	routes := make([]types.Resource, 0, routeNames)
	for j, name := range rdsNames {
		// Ingress routes to the local app; egress splits over the backends.
		targets := nc.clusters[1:]
		if j == 0 {
			targets = nc.clusters[:1]
		}
		routes = append(routes, weightedRoutes(name, targets, version))
	}
	return map[string][]types.Resource{
		resourcev3.ClusterType:  nc.clusters,
		resourcev3.ListenerType: nc.listeners,
		resourcev3.RouteType:    routes,
	}
}

func dnsCluster(name, host string, port uint32) *clusterv3.Cluster {
	return &clusterv3.Cluster{
		Name:                 name,
		ConnectTimeout:       durationpb.New(time.Second),
		ClusterDiscoveryType: &clusterv3.Cluster_Type{Type: clusterv3.Cluster_STRICT_DNS},
		LoadAssignment: &endpointv3.ClusterLoadAssignment{
			ClusterName: name,
			Endpoints: []*endpointv3.LocalityLbEndpoints{{LbEndpoints: []*endpointv3.LbEndpoint{{
				HostIdentifier: &endpointv3.LbEndpoint_Endpoint{Endpoint: &endpointv3.Endpoint{
					Address: socketAddress(host, port),
				}},
			}}}},
		},
		CircuitBreakers: &clusterv3.CircuitBreakers{Thresholds: []*clusterv3.CircuitBreakers_Thresholds{{
			MaxConnections:     wrapperspb.UInt32(2147483647),
			MaxPendingRequests: wrapperspb.UInt32(2147483647),
			MaxRequests:        wrapperspb.UInt32(2147483647),
		}}},
	}
}

func socketAddress(host string, port uint32) *corev3.Address {
	return &corev3.Address{Address: &corev3.Address_SocketAddress{SocketAddress: &corev3.SocketAddress{
		Address:       host,
		PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: port},
	}}}
}

func httpListener(name string, port uint32, rds string) (*listenerv3.Listener, error) {
	router, err := anypb.New(&routerv3.Router{})
	if err != nil {
		return nil, fmt.Errorf("router config: %w", err)
	}
	hcm, err := anypb.New(&hcmv3.HttpConnectionManager{
		StatPrefix: name,
		RouteSpecifier: &hcmv3.HttpConnectionManager_Rds{Rds: &hcmv3.Rds{
			RouteConfigName: rds,
			ConfigSource: &corev3.ConfigSource{
				ResourceApiVersion:    corev3.ApiVersion_V3,
				ConfigSourceSpecifier: &corev3.ConfigSource_Ads{Ads: &corev3.AggregatedConfigSource{}},
			},
		}},
		HttpFilters: []*hcmv3.HttpFilter{{Name: "envoy.filters.http.router", ConfigType: &hcmv3.HttpFilter_TypedConfig{TypedConfig: router}}},
	})
	if err != nil {
		return nil, fmt.Errorf("hcm config: %w", err)
	}
	return &listenerv3.Listener{
		Name:    name,
		Address: socketAddress("0.0.0.0", port),
		FilterChains: []*listenerv3.FilterChain{{Filters: []*listenerv3.Filter{{
			Name:       "envoy.filters.network.http_connection_manager",
			ConfigType: &listenerv3.Filter_TypedConfig{TypedConfig: hcm},
		}}}},
	}, nil
}

// weightedRoutes is one virtual host with one route splitting over
// targets; the weights depend on version so every update changes them.
func weightedRoutes(name string, targets []types.Resource, version int) *routev3.RouteConfiguration {
	wc := &routev3.WeightedCluster{}
	for k, c := range targets {
		w := uint32(1 + (version*7+k*13)%100)
		wc.Clusters = append(wc.Clusters, &routev3.WeightedCluster_ClusterWeight{
			Name:   c.(*clusterv3.Cluster).GetName(),
			Weight: wrapperspb.UInt32(w),
		})
	}
	return &routev3.RouteConfiguration{
		Name: name,
		VirtualHosts: []*routev3.VirtualHost{{
			Name:    name,
			Domains: []string{"*"},
			Routes: []*routev3.Route{{
				Match:  &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"}},
				Action: &routev3.Route_Route{Route: &routev3.RouteAction{ClusterSpecifier: &routev3.RouteAction_WeightedClusters{WeightedClusters: wc}}},
			}},
		}},
	}
}
