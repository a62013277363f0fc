package apiserver_test

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/appmesh"
	"github.com/aws/aws-sdk-go-v2/service/appmesh/types"
)

func TestMeshLifecycle(t *testing.T) {
	e := newEnv(t)
	before := time.Now().Add(-time.Second)
	out, err := e.client.CreateMesh(e.ctx, &appmesh.CreateMeshInput{
		MeshName: aws.String("m1"),
		Spec:     &types.MeshSpec{EgressFilter: &types.EgressFilter{Type: types.EgressFilterTypeAllowAll}},
		Tags:     []types.TagRef{{Key: aws.String("team"), Value: aws.String("payments")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	m := out.Mesh
	md := m.Metadata
	if *m.MeshName != "m1" || m.Status.Status != types.MeshStatusCodeActive {
		t.Fatalf("mesh = %+v", m)
	}
	if got, want := *md.Arn, "arn:aws:appmesh:us-west-2:123456789012:mesh/m1"; got != want {
		t.Errorf("arn = %s, want %s", got, want)
	}
	if *md.Version != 1 || *md.MeshOwner != testAccount || *md.ResourceOwner != testAccount || len(*md.Uid) != 36 {
		t.Errorf("metadata = %+v", md)
	}
	if !md.CreatedAt.Equal(*md.LastUpdatedAt) || md.CreatedAt.Before(before) {
		t.Errorf("timestamps: created %v updated %v", md.CreatedAt, md.LastUpdatedAt)
	}
	if m.Spec.EgressFilter.Type != types.EgressFilterTypeAllowAll {
		t.Errorf("spec = %+v", m.Spec)
	}

	time.Sleep(5 * time.Millisecond)
	up, err := e.client.UpdateMesh(e.ctx, &appmesh.UpdateMeshInput{MeshName: aws.String("m1"), Spec: &types.MeshSpec{}})
	if err != nil {
		t.Fatal(err)
	}
	umd := up.Mesh.Metadata
	if *umd.Version != 2 || !umd.CreatedAt.Equal(*md.CreatedAt) || !umd.LastUpdatedAt.After(*md.LastUpdatedAt) || *umd.Uid != *md.Uid {
		t.Errorf("after update: %+v", umd)
	}
	if up.Mesh.Spec.EgressFilter != nil {
		t.Errorf("update must replace the spec wholesale, got %+v", up.Mesh.Spec)
	}

	desc, err := e.client.DescribeMesh(e.ctx, &appmesh.DescribeMeshInput{MeshName: aws.String("m1")})
	if err != nil || *desc.Mesh.Metadata.Version != 2 {
		t.Fatalf("describe: %v %+v", err, desc)
	}
	list, err := e.client.ListMeshes(e.ctx, &appmesh.ListMeshesInput{})
	if err != nil || len(list.Meshes) != 1 || *list.Meshes[0].MeshName != "m1" || *list.Meshes[0].Version != 2 || list.NextToken != nil {
		t.Fatalf("list: %v %+v", err, list)
	}
	del, err := e.client.DeleteMesh(e.ctx, &appmesh.DeleteMeshInput{MeshName: aws.String("m1")})
	if err != nil || del.Mesh.Status.Status != types.MeshStatusCodeDeleted {
		t.Fatalf("delete: %v %+v", err, del)
	}
	_, err = e.client.DescribeMesh(e.ctx, &appmesh.DescribeMeshInput{MeshName: aws.String("m1")})
	wantErr[*types.NotFoundException](t, err)
}

// TestAllKinds walks every kind through create, describe, update, list and
// delete in dependency order, as a CloudFormation stack would.
func TestAllKinds(t *testing.T) {
	e := newEnv(t)
	c, ctx, mesh := e.client, e.ctx, aws.String("shop")
	e.mustMesh("shop")
	e.mustNode("shop", "web-v1")
	e.mustNode("shop", "web-v2")
	e.mustRouter("shop", "web-router", 8080)

	rt, err := c.CreateRoute(ctx, &appmesh.CreateRouteInput{MeshName: mesh, VirtualRouterName: aws.String("web-router"),
		RouteName: aws.String("web-route"), Spec: httpRoute("/", target("web-v1", 90), target("web-v2", 10))})
	if err != nil {
		t.Fatal(err)
	}
	if got := *rt.Route.Metadata.Arn; got != "arn:aws:appmesh:us-west-2:123456789012:mesh/shop/virtualRouter/web-router/route/web-route" {
		t.Errorf("route arn = %s", got)
	}
	if *rt.Route.VirtualRouterName != "web-router" || *rt.Route.RouteName != "web-route" {
		t.Errorf("route names: %+v", rt.Route)
	}
	vs, err := c.CreateVirtualService(ctx, &appmesh.CreateVirtualServiceInput{MeshName: mesh, VirtualServiceName: aws.String("web.shop.svc.cluster.local"),
		Spec: &types.VirtualServiceSpec{Provider: &types.VirtualServiceProviderMemberVirtualRouter{Value: types.VirtualRouterServiceProvider{VirtualRouterName: aws.String("web-router")}}}})
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := vs.VirtualService.Spec.Provider.(*types.VirtualServiceProviderMemberVirtualRouter); !ok || *p.Value.VirtualRouterName != "web-router" {
		t.Errorf("provider = %#v", vs.VirtualService.Spec.Provider)
	}
	gw, err := c.CreateVirtualGateway(ctx, &appmesh.CreateVirtualGatewayInput{MeshName: mesh, VirtualGatewayName: aws.String("ingress"),
		Spec: &types.VirtualGatewaySpec{Listeners: []types.VirtualGatewayListener{{PortMapping: &types.VirtualGatewayPortMapping{Port: aws.Int32(8443), Protocol: types.VirtualGatewayPortProtocolHttp}}}}})
	if err != nil || *gw.VirtualGateway.Metadata.Version != 1 {
		t.Fatal(err)
	}
	gr, err := c.CreateGatewayRoute(ctx, &appmesh.CreateGatewayRouteInput{MeshName: mesh, VirtualGatewayName: aws.String("ingress"), GatewayRouteName: aws.String("to-web"),
		Spec: &types.GatewayRouteSpec{HttpRoute: &types.HttpGatewayRoute{
			Match:  &types.HttpGatewayRouteMatch{Prefix: aws.String("/web")},
			Action: &types.HttpGatewayRouteAction{Target: &types.GatewayRouteTarget{VirtualService: &types.GatewayRouteVirtualService{VirtualServiceName: aws.String("web.shop.svc.cluster.local")}}},
		}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := *gr.GatewayRoute.Metadata.Arn; got != "arn:aws:appmesh:us-west-2:123456789012:mesh/shop/virtualGateway/ingress/gatewayRoute/to-web" {
		t.Errorf("gateway route arn = %s", got)
	}

	// Update: a route shift 90/10 -> 50/50 bumps the version and keeps createdAt.
	up, err := c.UpdateRoute(ctx, &appmesh.UpdateRouteInput{MeshName: mesh, VirtualRouterName: aws.String("web-router"), RouteName: aws.String("web-route"),
		Spec: httpRoute("/", target("web-v1", 50), target("web-v2", 50))})
	if err != nil {
		t.Fatal(err)
	}
	if *up.Route.Metadata.Version != 2 || up.Route.Spec.HttpRoute.Action.WeightedTargets[1].Weight != 50 || !up.Route.Metadata.CreatedAt.Equal(*rt.Route.Metadata.CreatedAt) {
		t.Errorf("updated route = %+v", up.Route)
	}
	checkLists(t, e)

	// Deletion order matters: everything referenced is protected.
	inUse := func(err error) { t.Helper(); wantErr[*types.ResourceInUseException](t, err) }
	_, err = c.DeleteMesh(ctx, &appmesh.DeleteMeshInput{MeshName: mesh})
	inUse(err)
	_, err = c.DeleteVirtualNode(ctx, &appmesh.DeleteVirtualNodeInput{MeshName: mesh, VirtualNodeName: aws.String("web-v2")})
	inUse(err)
	_, err = c.DeleteVirtualRouter(ctx, &appmesh.DeleteVirtualRouterInput{MeshName: mesh, VirtualRouterName: aws.String("web-router")})
	inUse(err)
	_, err = c.DeleteVirtualGateway(ctx, &appmesh.DeleteVirtualGatewayInput{MeshName: mesh, VirtualGatewayName: aws.String("ingress")})
	inUse(err)
	_, err = c.DeleteVirtualService(ctx, &appmesh.DeleteVirtualServiceInput{MeshName: mesh, VirtualServiceName: aws.String("web.shop.svc.cluster.local")})
	inUse(err)

	deleteAll(t, e)
}

func checkLists(t *testing.T, e *env) {
	t.Helper()
	c, ctx, mesh := e.client, e.ctx, aws.String("shop")
	vns, err := c.ListVirtualNodes(ctx, &appmesh.ListVirtualNodesInput{MeshName: mesh})
	if err != nil || len(vns.VirtualNodes) != 2 || *vns.VirtualNodes[0].VirtualNodeName != "web-v1" || *vns.VirtualNodes[0].MeshName != "shop" {
		t.Errorf("ListVirtualNodes: %v %+v", err, vns)
	}
	routes, err := c.ListRoutes(ctx, &appmesh.ListRoutesInput{MeshName: mesh, VirtualRouterName: aws.String("web-router")})
	if err != nil || len(routes.Routes) != 1 || *routes.Routes[0].Version != 2 || *routes.Routes[0].VirtualRouterName != "web-router" {
		t.Errorf("ListRoutes: %v %+v", err, routes)
	}
	vrs, err := c.ListVirtualRouters(ctx, &appmesh.ListVirtualRoutersInput{MeshName: mesh})
	if err != nil || len(vrs.VirtualRouters) != 1 {
		t.Errorf("ListVirtualRouters: %v %+v", err, vrs)
	}
	vss, err := c.ListVirtualServices(ctx, &appmesh.ListVirtualServicesInput{MeshName: mesh})
	if err != nil || len(vss.VirtualServices) != 1 || *vss.VirtualServices[0].Arn != "arn:aws:appmesh:us-west-2:123456789012:mesh/shop/virtualService/web.shop.svc.cluster.local" {
		t.Errorf("ListVirtualServices: %v %+v", err, vss)
	}
	vgs, err := c.ListVirtualGateways(ctx, &appmesh.ListVirtualGatewaysInput{MeshName: mesh})
	if err != nil || len(vgs.VirtualGateways) != 1 {
		t.Errorf("ListVirtualGateways: %v %+v", err, vgs)
	}
	grs, err := c.ListGatewayRoutes(ctx, &appmesh.ListGatewayRoutesInput{MeshName: mesh, VirtualGatewayName: aws.String("ingress")})
	if err != nil || len(grs.GatewayRoutes) != 1 || *grs.GatewayRoutes[0].VirtualGatewayName != "ingress" {
		t.Errorf("ListGatewayRoutes: %v %+v", err, grs)
	}
}

func deleteAll(t *testing.T, e *env) {
	t.Helper()
	c, ctx, mesh := e.client, e.ctx, aws.String("shop")
	steps := []func() (string, error){
		func() (string, error) {
			o, err := c.DeleteGatewayRoute(ctx, &appmesh.DeleteGatewayRouteInput{MeshName: mesh, VirtualGatewayName: aws.String("ingress"), GatewayRouteName: aws.String("to-web")})
			if err != nil {
				return "", err
			}
			return string(o.GatewayRoute.Status.Status), nil
		},
		func() (string, error) {
			o, err := c.DeleteVirtualGateway(ctx, &appmesh.DeleteVirtualGatewayInput{MeshName: mesh, VirtualGatewayName: aws.String("ingress")})
			if err != nil {
				return "", err
			}
			return string(o.VirtualGateway.Status.Status), nil
		},
		func() (string, error) {
			o, err := c.DeleteVirtualService(ctx, &appmesh.DeleteVirtualServiceInput{MeshName: mesh, VirtualServiceName: aws.String("web.shop.svc.cluster.local")})
			if err != nil {
				return "", err
			}
			return string(o.VirtualService.Status.Status), nil
		},
		func() (string, error) {
			o, err := c.DeleteRoute(ctx, &appmesh.DeleteRouteInput{MeshName: mesh, VirtualRouterName: aws.String("web-router"), RouteName: aws.String("web-route")})
			if err != nil {
				return "", err
			}
			return string(o.Route.Status.Status), nil
		},
		func() (string, error) {
			o, err := c.DeleteVirtualRouter(ctx, &appmesh.DeleteVirtualRouterInput{MeshName: mesh, VirtualRouterName: aws.String("web-router")})
			if err != nil {
				return "", err
			}
			return string(o.VirtualRouter.Status.Status), nil
		},
		func() (string, error) { return deleteNode(e, "web-v1") },
		func() (string, error) { return deleteNode(e, "web-v2") },
		func() (string, error) {
			o, err := c.DeleteMesh(ctx, &appmesh.DeleteMeshInput{MeshName: mesh})
			if err != nil {
				return "", err
			}
			return string(o.Mesh.Status.Status), nil
		},
	}
	for i, step := range steps {
		st, err := step()
		if err != nil || st != "DELETED" {
			t.Fatalf("delete step %d: status %q, err %v", i, st, err)
		}
	}
}

func deleteNode(e *env, name string) (string, error) {
	o, err := e.client.DeleteVirtualNode(e.ctx, &appmesh.DeleteVirtualNodeInput{MeshName: aws.String("shop"), VirtualNodeName: aws.String(name)})
	if err != nil {
		return "", err
	}
	return string(o.VirtualNode.Status.Status), nil
}

func TestRestartKeepsEverything(t *testing.T) {
	e := newEnv(t)
	m := e.mustMesh("persist")
	vn := e.mustNode("persist", "a")
	if _, err := e.client.UpdateVirtualNode(e.ctx, &appmesh.UpdateVirtualNodeInput{MeshName: aws.String("persist"), VirtualNodeName: aws.String("a"), Spec: dnsNode("a2.local", 9090)}); err != nil {
		t.Fatal(err)
	}
	e.restart()
	gotMesh, err := e.client.DescribeMesh(e.ctx, &appmesh.DescribeMeshInput{MeshName: aws.String("persist")})
	if err != nil || *gotMesh.Mesh.Metadata.Uid != *m.Metadata.Uid || *gotMesh.Mesh.Metadata.Version != 1 {
		t.Fatalf("mesh after restart: %v %+v", err, gotMesh)
	}
	gotVN, err := e.client.DescribeVirtualNode(e.ctx, &appmesh.DescribeVirtualNodeInput{MeshName: aws.String("persist"), VirtualNodeName: aws.String("a")})
	if err != nil {
		t.Fatal(err)
	}
	md := gotVN.VirtualNode.Metadata
	if *md.Uid != *vn.Metadata.Uid || *md.Version != 2 || !md.CreatedAt.Equal(*vn.Metadata.CreatedAt) {
		t.Errorf("node after restart: %+v", md)
	}
	if h := gotVN.VirtualNode.Spec.ServiceDiscovery.(*types.ServiceDiscoveryMemberDns).Value.Hostname; *h != "a2.local" {
		t.Errorf("hostname after restart = %s", *h)
	}
}
