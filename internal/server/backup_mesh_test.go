package server_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/appmesh"
	"github.com/aws/aws-sdk-go-v2/service/appmesh/types"
	sd "github.com/aws/aws-sdk-go-v2/service/servicediscovery"
)

func vnName(i int) string { return fmt.Sprintf("vn-%04d", i) }
func vrName(i int) string { return fmt.Sprintf("vr-%04d", i) }
func vsName(i int) string { return fmt.Sprintf("svc-%04d.big.local", i) }
func vgName(i int) string { return fmt.Sprintf("gw-%04d", i) }
func tagsFor(i int) []types.TagRef {
	return []types.TagRef{{Key: aws.String("team"), Value: aws.String(fmt.Sprintf("t%d", i%7))}, {Key: aws.String("idx"), Value: aws.String(fmt.Sprint(i))}}
}

// buildBigMesh creates the mesh in dependency order, every kind with tags,
// and updates every tenth virtual node so that versions are not all 1.
func buildBigMesh(t *testing.T, c *appmesh.Client) {
	t.Helper()
	ctx := t.Context()
	m := aws.String(bigMesh)
	if _, err := c.CreateMesh(ctx, &appmesh.CreateMeshInput{MeshName: m, Tags: tagsFor(0)}); err != nil {
		t.Fatal(err)
	}
	parallel(t, bigNodes, func(i int) error {
		_, err := c.CreateVirtualNode(ctx, &appmesh.CreateVirtualNodeInput{MeshName: m, VirtualNodeName: aws.String(vnName(i)),
			Spec: dnsNode(fmt.Sprintf("vn-%d.big.local", i)), Tags: tagsFor(i)})
		return err
	})
	parallel(t, bigNodes/10, func(i int) error {
		_, err := c.UpdateVirtualNode(ctx, &appmesh.UpdateVirtualNodeInput{MeshName: m, VirtualNodeName: aws.String(vnName(10 * i)),
			Spec: dnsNode(fmt.Sprintf("vn-%d-v2.big.local", 10*i))})
		return err
	})
	parallel(t, bigRouters, func(i int) error { return createRouter(ctx, c, i) })
	parallel(t, bigNodes, func(i int) error {
		var p types.VirtualServiceProvider = &types.VirtualServiceProviderMemberVirtualNode{Value: types.VirtualNodeServiceProvider{VirtualNodeName: aws.String(vnName(i))}}
		if i < bigRouters {
			p = &types.VirtualServiceProviderMemberVirtualRouter{Value: types.VirtualRouterServiceProvider{VirtualRouterName: aws.String(vrName(i))}}
		}
		_, err := c.CreateVirtualService(ctx, &appmesh.CreateVirtualServiceInput{MeshName: m, VirtualServiceName: aws.String(vsName(i)),
			Spec: &types.VirtualServiceSpec{Provider: p}, Tags: tagsFor(i)})
		return err
	})
	parallel(t, bigGateways, func(i int) error { return createGateway(ctx, c, i) })
}

// createRouter creates router i and its two routes.
func createRouter(ctx context.Context, c *appmesh.Client, i int) error {
	m := aws.String(bigMesh)
	_, err := c.CreateVirtualRouter(ctx, &appmesh.CreateVirtualRouterInput{MeshName: m, VirtualRouterName: aws.String(vrName(i)), Tags: tagsFor(i),
		Spec: &types.VirtualRouterSpec{Listeners: []types.VirtualRouterListener{{PortMapping: &types.PortMapping{Port: aws.Int32(8080), Protocol: types.PortProtocolHttp}}}}})
	if err != nil {
		return err
	}
	for r, prefix := range []string{"/", "/v2/"} {
		_, err := c.CreateRoute(ctx, &appmesh.CreateRouteInput{MeshName: m, VirtualRouterName: aws.String(vrName(i)), RouteName: aws.String(fmt.Sprintf("r%d", r)), Tags: tagsFor(r),
			Spec: &types.RouteSpec{Priority: aws.Int32(int32(10 - r)), HttpRoute: &types.HttpRoute{
				Match:  &types.HttpRouteMatch{Prefix: aws.String(prefix)},
				Action: &types.HttpRouteAction{WeightedTargets: []types.WeightedTarget{{VirtualNode: aws.String(vnName(i)), Weight: 3}, {VirtualNode: aws.String(vnName(i + bigRouters)), Weight: 1}}},
			}}})
		if err != nil {
			return err
		}
	}
	return nil
}

// createGateway creates gateway i and its three gateway routes.
func createGateway(ctx context.Context, c *appmesh.Client, i int) error {
	m := aws.String(bigMesh)
	_, err := c.CreateVirtualGateway(ctx, &appmesh.CreateVirtualGatewayInput{MeshName: m, VirtualGatewayName: aws.String(vgName(i)), Tags: tagsFor(i),
		Spec: &types.VirtualGatewaySpec{Listeners: []types.VirtualGatewayListener{{PortMapping: &types.VirtualGatewayPortMapping{Port: aws.Int32(8080), Protocol: types.VirtualGatewayPortProtocolHttp}}}}})
	if err != nil {
		return err
	}
	for r := range 3 {
		_, err := c.CreateGatewayRoute(ctx, &appmesh.CreateGatewayRouteInput{MeshName: m, VirtualGatewayName: aws.String(vgName(i)), GatewayRouteName: aws.String(fmt.Sprintf("gr%d", r)),
			Spec: &types.GatewayRouteSpec{HttpRoute: &types.HttpGatewayRoute{
				Match:  &types.HttpGatewayRouteMatch{Prefix: aws.String(fmt.Sprintf("/p%d/", r))},
				Action: &types.HttpGatewayRouteAction{Target: &types.GatewayRouteTarget{VirtualService: &types.GatewayRouteVirtualService{VirtualServiceName: aws.String(vsName(3*i + r))}}},
			}}})
		if err != nil {
			return err
		}
	}
	return nil
}

// registerInstances registers bigInstances instances in one Cloud Map
// service.
func registerInstances(t *testing.T, c *sd.Client) {
	t.Helper()
	ctx := t.Context()
	if _, err := c.CreateHttpNamespace(ctx, &sd.CreateHttpNamespaceInput{Name: aws.String("apps.local"), CreatorRequestId: aws.String("req-1")}); err != nil {
		t.Fatal(err)
	}
	nss, err := c.ListNamespaces(ctx, &sd.ListNamespacesInput{})
	if err != nil || len(nss.Namespaces) != 1 {
		t.Fatalf("ListNamespaces: %v", err)
	}
	svc, err := c.CreateService(ctx, &sd.CreateServiceInput{Name: aws.String("color"), NamespaceId: nss.Namespaces[0].Id})
	if err != nil {
		t.Fatal(err)
	}
	parallel(t, bigInstances, func(i int) error {
		_, err := c.RegisterInstance(ctx, &sd.RegisterInstanceInput{ServiceId: svc.Service.Id, InstanceId: aws.String(fmt.Sprintf("i-%04d", i)),
			Attributes: map[string]string{"AWS_INSTANCE_IPV4": fmt.Sprintf("10.0.%d.%d", i/250, i%250+1), "AWS_INSTANCE_PORT": "8080", "version": fmt.Sprint(i % 3)}})
		return err
	})
}

// describeAll returns, per resource ARN (or instance id), its Describe
// output and its tags as JSON.
func describeAll(t *testing.T, c *appmesh.Client, cm *sd.Client) map[string]string {
	t.Helper()
	ctx := t.Context()
	m := aws.String(bigMesh)
	var mu sync.Mutex
	out := map[string]string{}
	add := func(arn *string, data any) error {
		tags, err := c.ListTagsForResource(ctx, &appmesh.ListTagsForResourceInput{ResourceArn: arn})
		if err != nil {
			return fmt.Errorf("tags of %s: %w", aws.ToString(arn), err)
		}
		mu.Lock()
		out[aws.ToString(arn)] = jsonOf(data) + " tags " + jsonOf(tags.Tags)
		mu.Unlock()
		return nil
	}
	mesh, err := c.DescribeMesh(ctx, &appmesh.DescribeMeshInput{MeshName: m})
	if err != nil {
		t.Fatal(err)
	}
	if err := add(mesh.Mesh.Metadata.Arn, mesh.Mesh); err != nil {
		t.Fatal(err)
	}
	parallel(t, bigNodes, func(i int) error {
		vn, err := c.DescribeVirtualNode(ctx, &appmesh.DescribeVirtualNodeInput{MeshName: m, VirtualNodeName: aws.String(vnName(i))})
		if err != nil {
			return err
		}
		vs, err := c.DescribeVirtualService(ctx, &appmesh.DescribeVirtualServiceInput{MeshName: m, VirtualServiceName: aws.String(vsName(i))})
		if err != nil {
			return err
		}
		return errorsJoin(add(vn.VirtualNode.Metadata.Arn, vn.VirtualNode), add(vs.VirtualService.Metadata.Arn, vs.VirtualService))
	})
	parallel(t, bigRouters, func(i int) error { return describeRouter(ctx, c, i, add) })
	parallel(t, bigGateways, func(i int) error { return describeGateway(ctx, c, i, add) })
	describeInstances(t, cm, out)
	return out
}

func describeRouter(ctx context.Context, c *appmesh.Client, i int, add func(*string, any) error) error {
	m := aws.String(bigMesh)
	vr, err := c.DescribeVirtualRouter(ctx, &appmesh.DescribeVirtualRouterInput{MeshName: m, VirtualRouterName: aws.String(vrName(i))})
	if err != nil {
		return err
	}
	if err := add(vr.VirtualRouter.Metadata.Arn, vr.VirtualRouter); err != nil {
		return err
	}
	for r := range 2 {
		rt, err := c.DescribeRoute(ctx, &appmesh.DescribeRouteInput{MeshName: m, VirtualRouterName: aws.String(vrName(i)), RouteName: aws.String(fmt.Sprintf("r%d", r))})
		if err != nil {
			return err
		}
		if err := add(rt.Route.Metadata.Arn, rt.Route); err != nil {
			return err
		}
	}
	return nil
}

func describeGateway(ctx context.Context, c *appmesh.Client, i int, add func(*string, any) error) error {
	m := aws.String(bigMesh)
	vg, err := c.DescribeVirtualGateway(ctx, &appmesh.DescribeVirtualGatewayInput{MeshName: m, VirtualGatewayName: aws.String(vgName(i))})
	if err != nil {
		return err
	}
	if err := add(vg.VirtualGateway.Metadata.Arn, vg.VirtualGateway); err != nil {
		return err
	}
	for r := range 3 {
		gr, err := c.DescribeGatewayRoute(ctx, &appmesh.DescribeGatewayRouteInput{MeshName: m, VirtualGatewayName: aws.String(vgName(i)), GatewayRouteName: aws.String(fmt.Sprintf("gr%d", r))})
		if err != nil {
			return err
		}
		if err := add(gr.GatewayRoute.Metadata.Arn, gr.GatewayRoute); err != nil {
			return err
		}
	}
	return nil
}

func describeInstances(t *testing.T, c *sd.Client, out map[string]string) {
	t.Helper()
	ctx := t.Context()
	svcs, err := c.ListServices(ctx, &sd.ListServicesInput{})
	if err != nil || len(svcs.Services) != 1 {
		t.Fatalf("ListServices: %d, %v", len(svcs.Services), err)
	}
	p := sd.NewListInstancesPaginator(c, &sd.ListInstancesInput{ServiceId: svcs.Services[0].Id})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range page.Instances {
			out["instance "+aws.ToString(in.Id)] = jsonOf(in)
		}
	}
}
