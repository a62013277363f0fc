package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/appmesh"
	"github.com/aws/aws-sdk-go-v2/service/appmesh/types"
)

// TestMultipleListenersPortOnlyMatches replays App Mesh's multiple-listeners
// walkthrough (user guide "Multiple listeners"): a gateway with two
// listeners, a router with two, a node with two, and every route and
// gateway route matching on port alone. Each gateway port reaches its own
// node port, whatever the path.
func TestMultipleListenersPortOnlyMatches(t *testing.T) {
	c := startTrellis(t)
	cl := newClient()
	appIP, gwIP := loopbackIP(), loopbackIP()
	startApp(t, "five", appIP, 5050)
	startApp(t, "six", appIP, 6060)
	const mesh = "my-mesh"
	c.mesh(t, mesh, "")
	must[*appmesh.CreateVirtualNodeOutput](t)(c.client.CreateVirtualNode(c.ctx, &appmesh.CreateVirtualNodeInput{
		MeshName: aws.String(mesh), VirtualNodeName: aws.String("my-virtual-node"), Spec: &types.VirtualNodeSpec{
			Listeners:        []types.Listener{httpListener(5050), httpListener(6060)},
			ServiceDiscovery: &types.ServiceDiscoveryMemberDns{Value: types.DnsServiceDiscovery{Hostname: aws.String(appIP)}}}}))
	must[*appmesh.CreateVirtualRouterOutput](t)(c.client.CreateVirtualRouter(c.ctx, &appmesh.CreateVirtualRouterInput{
		MeshName: aws.String(mesh), VirtualRouterName: aws.String("my-virtual-router"), Spec: &types.VirtualRouterSpec{
			Listeners: []types.VirtualRouterListener{{PortMapping: httpListener(3030).PortMapping}, {PortMapping: httpListener(4040).PortMapping}}}}))
	c.serviceByRouter(t, mesh, "my-virtual-service", "my-virtual-router")
	for _, p := range [][2]int32{{3030, 5050}, {4040, 6060}} {
		c.route(t, mesh, "my-virtual-router", fmt.Sprint("route-", p[0]), &types.RouteSpec{HttpRoute: &types.HttpRoute{
			Match:  &types.HttpRouteMatch{Port: aws.Int32(p[0])},
			Action: weighted(types.WeightedTarget{VirtualNode: aws.String("my-virtual-node"), Weight: 1, Port: aws.Int32(p[1])})}})
	}
	must[*appmesh.CreateVirtualGatewayOutput](t)(c.client.CreateVirtualGateway(c.ctx, &appmesh.CreateVirtualGatewayInput{
		MeshName: aws.String(mesh), VirtualGatewayName: aws.String("gw"), Spec: &types.VirtualGatewaySpec{
			Listeners: []types.VirtualGatewayListener{gwListener(1010), gwListener(2020)}}}))
	for _, p := range [][2]int32{{1010, 3030}, {2020, 4040}} {
		c.gatewayRoute(t, mesh, "gw", fmt.Sprint("gr-", p[0]), &types.GatewayRouteSpec{HttpRoute: &types.HttpGatewayRoute{
			Match: &types.HttpGatewayRouteMatch{Port: aws.Int32(p[0])},
			Action: &types.HttpGatewayRouteAction{Target: &types.GatewayRouteTarget{Port: aws.Int32(p[1]),
				VirtualService: &types.GatewayRouteVirtualService{VirtualServiceName: aws.String("my-virtual-service")}}}}})
	}
	startEnvoy(t, c, proxyConfig{NodeID: "mesh/my-mesh/virtualGateway/gw", IP: gwIP})
	for port, want := range map[int]string{1010: "five", 2020: "six"} {
		addr := fmt.Sprintf("%s:%d", gwIP, port)
		for _, path := range []string{"/", "/any/path", "/x?y=z"} {
			eventually(t, 10*time.Second, cl.expectBody(addr, "www.example.com", path, nil, want))
		}
	}
}

func httpListener(port int32) types.Listener {
	return types.Listener{PortMapping: &types.PortMapping{Port: aws.Int32(port), Protocol: types.PortProtocolHttp}}
}

func gwListener(port int32) types.VirtualGatewayListener {
	return types.VirtualGatewayListener{PortMapping: &types.VirtualGatewayPortMapping{Port: aws.Int32(port), Protocol: types.VirtualGatewayPortProtocolHttp}}
}
