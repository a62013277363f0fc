package main

import (
	"testing"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// TestWeightsOf: the wire walk reads the weights a full decode would.
func TestWeightsOf(t *testing.T) {
	weighted := func(ws ...uint32) *routev3.Route {
		var cs []*routev3.WeightedCluster_ClusterWeight
		for i, w := range ws {
			cs = append(cs, &routev3.WeightedCluster_ClusterWeight{Name: string(rune('a' + i)), Weight: wrapperspb.UInt32(w)})
		}
		return &routev3.Route{Action: &routev3.Route_Route{Route: &routev3.RouteAction{
			ClusterSpecifier: &routev3.RouteAction_WeightedClusters{WeightedClusters: &routev3.WeightedCluster{Clusters: cs}}}}}
	}
	rc := &routev3.RouteConfiguration{Name: rdsName, VirtualHosts: []*routev3.VirtualHost{
		{Name: "other", Domains: []string{"x"}, Routes: []*routev3.Route{weighted(1, 2)}},
		{Name: "svc", Domains: []string{"svc"}, Routes: []*routev3.Route{weighted(30, 0, 70), weighted(5)}},
		{Name: "empty"},
	}}
	b, err := proto.Marshal(rc)
	if err != nil {
		t.Fatal(err)
	}
	for vhost, want := range map[string]string{"svc": "30/0/70", "other": "1/2", "empty": "", "missing": ""} {
		if got := weightsOf(b, vhost); got != want {
			t.Errorf("weightsOf(%s) = %q, want %q", vhost, got, want)
		}
	}
}
