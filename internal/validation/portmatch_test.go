package validation

import (
	"testing"

	"github.com/trellis-mesh/trellis/internal/apis/appmesh"
)

// TestPortOnlyMatchesAccepted: App Mesh's multiple-listeners walkthrough
// routes by `"match": {"port": N}` alone, on routes and gateway routes of
// every HTTP-family type; each must validate with no violation.
func TestPortOnlyMatchesAccepted(t *testing.T) {
	port := ptr(int32(3030))
	wt := []appmesh.WeightedTarget{{VirtualNode: "my-virtual-node", Weight: 1, Port: ptr(int32(5050))}}
	httpRoute := func() *appmesh.HttpRoute {
		return &appmesh.HttpRoute{Match: &appmesh.HttpRouteMatch{Port: port},
			Action: &appmesh.HttpRouteAction{WeightedTargets: wt}}
	}
	gwTarget := appmesh.GatewayRouteTarget{Port: port,
		VirtualService: &appmesh.GatewayRouteVirtualService{VirtualServiceName: "my-virtual-service"}}
	httpGW := func() *appmesh.HttpGatewayRoute {
		return &appmesh.HttpGatewayRoute{Match: &appmesh.HttpGatewayRouteMatch{Port: ptr(int32(1010))},
			Action: &appmesh.HttpGatewayRouteAction{Target: &gwTarget}}
	}
	cases := []struct {
		name string
		kind appmesh.Kind
		spec any
	}{
		{"route http", appmesh.KindRoute, &appmesh.RouteSpec{HttpRoute: httpRoute()}},
		{"route http2", appmesh.KindRoute, &appmesh.RouteSpec{Http2Route: httpRoute()}},
		{"route grpc", appmesh.KindRoute, &appmesh.RouteSpec{GrpcRoute: &appmesh.GrpcRoute{
			Match:  &appmesh.GrpcRouteMatch{Port: port},
			Action: &appmesh.GrpcRouteAction{WeightedTargets: wt}}}},
		{"route tcp", appmesh.KindRoute, &appmesh.RouteSpec{TcpRoute: &appmesh.TcpRoute{
			Match:  &appmesh.TcpRouteMatch{Port: port},
			Action: &appmesh.TcpRouteAction{WeightedTargets: wt}}}},
		{"gateway http", appmesh.KindGatewayRoute, &appmesh.GatewayRouteSpec{HttpRoute: httpGW()}},
		{"gateway http2", appmesh.KindGatewayRoute, &appmesh.GatewayRouteSpec{Http2Route: httpGW()}},
		{"gateway grpc", appmesh.KindGatewayRoute, &appmesh.GatewayRouteSpec{GrpcRoute: &appmesh.GrpcGatewayRoute{
			Match:  &appmesh.GrpcGatewayRouteMatch{Port: ptr(int32(1010))},
			Action: &appmesh.GrpcGatewayRouteAction{Target: &gwTarget}}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if vs := violationsOf(t, Spec(tc.kind, tc.spec)); len(vs) != 0 {
				t.Fatalf("want no violations, got:\n%s", listViolations(vs))
			}
		})
	}
}
