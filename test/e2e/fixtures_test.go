package e2e

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/appmesh"
	"github.com/aws/aws-sdk-go-v2/service/appmesh/types"
)

// The fixtures build App Mesh definitions through the SDK, as a user's
// scripts would. Names follow the App Mesh color walkthroughs.

func (c *cp) mesh(t *testing.T, name string, egress types.EgressFilterType) {
	t.Helper()
	spec := &types.MeshSpec{}
	if egress != "" {
		spec.EgressFilter = &types.EgressFilter{Type: egress}
	}
	must[*appmesh.CreateMeshOutput](t)(c.client.CreateMesh(c.ctx, &appmesh.CreateMeshInput{MeshName: aws.String(name), Spec: spec}))
}

// nodeSpec is a virtual node with one listener found by DNS at host, and
// the given virtual services as backends.
func nodeSpec(host string, port int32, proto types.PortProtocol, backends ...string) *types.VirtualNodeSpec {
	s := &types.VirtualNodeSpec{}
	if host != "" {
		s.Listeners = []types.Listener{{PortMapping: &types.PortMapping{Port: aws.Int32(port), Protocol: proto}}}
		s.ServiceDiscovery = &types.ServiceDiscoveryMemberDns{Value: types.DnsServiceDiscovery{Hostname: aws.String(host)}}
	}
	for _, b := range backends {
		s.Backends = append(s.Backends, &types.BackendMemberVirtualService{Value: types.VirtualServiceBackend{VirtualServiceName: aws.String(b)}})
	}
	return s
}

func (c *cp) node(t *testing.T, mesh, name string, spec *types.VirtualNodeSpec) {
	t.Helper()
	must[*appmesh.CreateVirtualNodeOutput](t)(c.client.CreateVirtualNode(c.ctx, &appmesh.CreateVirtualNodeInput{
		MeshName: aws.String(mesh), VirtualNodeName: aws.String(name), Spec: spec}))
}

func (c *cp) router(t *testing.T, mesh, name string, port int32, proto types.PortProtocol) {
	t.Helper()
	must[*appmesh.CreateVirtualRouterOutput](t)(c.client.CreateVirtualRouter(c.ctx, &appmesh.CreateVirtualRouterInput{
		MeshName: aws.String(mesh), VirtualRouterName: aws.String(name),
		Spec: &types.VirtualRouterSpec{Listeners: []types.VirtualRouterListener{{PortMapping: &types.PortMapping{Port: aws.Int32(port), Protocol: proto}}}}}))
}

func (c *cp) route(t *testing.T, mesh, router, name string, spec *types.RouteSpec) {
	t.Helper()
	must[*appmesh.CreateRouteOutput](t)(c.client.CreateRoute(c.ctx, &appmesh.CreateRouteInput{
		MeshName: aws.String(mesh), VirtualRouterName: aws.String(router), RouteName: aws.String(name), Spec: spec}))
}

func (c *cp) updateRoute(t *testing.T, mesh, router, name string, spec *types.RouteSpec) {
	t.Helper()
	must[*appmesh.UpdateRouteOutput](t)(c.client.UpdateRoute(c.ctx, &appmesh.UpdateRouteInput{
		MeshName: aws.String(mesh), VirtualRouterName: aws.String(router), RouteName: aws.String(name), Spec: spec}))
}

// serviceByRouter creates a virtual service provided by a router.
func (c *cp) serviceByRouter(t *testing.T, mesh, name, router string) {
	t.Helper()
	must[*appmesh.CreateVirtualServiceOutput](t)(c.client.CreateVirtualService(c.ctx, &appmesh.CreateVirtualServiceInput{
		MeshName: aws.String(mesh), VirtualServiceName: aws.String(name),
		Spec: &types.VirtualServiceSpec{Provider: &types.VirtualServiceProviderMemberVirtualRouter{Value: types.VirtualRouterServiceProvider{VirtualRouterName: aws.String(router)}}}}))
}

// serviceByNode creates a virtual service provided directly by a node.
func (c *cp) serviceByNode(t *testing.T, mesh, name, node string) {
	t.Helper()
	must[*appmesh.CreateVirtualServiceOutput](t)(c.client.CreateVirtualService(c.ctx, &appmesh.CreateVirtualServiceInput{
		MeshName: aws.String(mesh), VirtualServiceName: aws.String(name),
		Spec: &types.VirtualServiceSpec{Provider: &types.VirtualServiceProviderMemberVirtualNode{Value: types.VirtualNodeServiceProvider{VirtualNodeName: aws.String(node)}}}}))
}

func weighted(targets ...types.WeightedTarget) *types.HttpRouteAction {
	return &types.HttpRouteAction{WeightedTargets: targets}
}

func wt(node string, weight int32) types.WeightedTarget {
	return types.WeightedTarget{VirtualNode: aws.String(node), Weight: weight}
}

func prefixRoute(prefix string, action *types.HttpRouteAction) *types.RouteSpec {
	return &types.RouteSpec{HttpRoute: &types.HttpRoute{Match: &types.HttpRouteMatch{Prefix: aws.String(prefix)}, Action: action}}
}

func updateNode(mesh, name string, spec *types.VirtualNodeSpec) *appmesh.UpdateVirtualNodeInput {
	return &appmesh.UpdateVirtualNodeInput{MeshName: aws.String(mesh), VirtualNodeName: aws.String(name), Spec: spec}
}

// gateway creates a virtual gateway with one listener.
func (c *cp) gateway(t *testing.T, mesh, name string, port int32, proto types.VirtualGatewayPortProtocol) {
	t.Helper()
	must[*appmesh.CreateVirtualGatewayOutput](t)(c.client.CreateVirtualGateway(c.ctx, &appmesh.CreateVirtualGatewayInput{
		MeshName: aws.String(mesh), VirtualGatewayName: aws.String(name),
		Spec: &types.VirtualGatewaySpec{Listeners: []types.VirtualGatewayListener{{
			PortMapping: &types.VirtualGatewayPortMapping{Port: aws.Int32(port), Protocol: proto}}}}}))
}

func (c *cp) gatewayRoute(t *testing.T, mesh, gateway, name string, spec *types.GatewayRouteSpec) {
	t.Helper()
	must[*appmesh.CreateGatewayRouteOutput](t)(c.client.CreateGatewayRoute(c.ctx, &appmesh.CreateGatewayRouteInput{
		MeshName: aws.String(mesh), VirtualGatewayName: aws.String(gateway), GatewayRouteName: aws.String(name), Spec: spec}))
}

// httpGatewayRoute sends requests matching match to virtual service vs,
// with optional rewrites.
func httpGatewayRoute(match *types.HttpGatewayRouteMatch, vs string, rw *types.HttpGatewayRouteRewrite) *types.GatewayRouteSpec {
	return &types.GatewayRouteSpec{HttpRoute: &types.HttpGatewayRoute{Match: match, Action: &types.HttpGatewayRouteAction{
		Target:  &types.GatewayRouteTarget{VirtualService: &types.GatewayRouteVirtualService{VirtualServiceName: aws.String(vs)}},
		Rewrite: rw}}}
}
