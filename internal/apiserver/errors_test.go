package apiserver_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/appmesh"
	"github.com/aws/aws-sdk-go-v2/service/appmesh/types"
)

func TestConflictsAndIdempotency(t *testing.T) {
	e := newEnv(t)
	c, ctx := e.client, e.ctx
	e.mustMesh("m")
	in := &appmesh.CreateVirtualNodeInput{MeshName: aws.String("m"), VirtualNodeName: aws.String("n"), Spec: dnsNode("n.local", 80), ClientToken: aws.String("tok-1")}
	first, err := c.CreateVirtualNode(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	// A retry with the same token and request returns the same resource.
	again, err := c.CreateVirtualNode(ctx, in)
	if err != nil || *again.VirtualNode.Metadata.Uid != *first.VirtualNode.Metadata.Uid || *again.VirtualNode.Metadata.Version != 1 {
		t.Fatalf("idempotent retry: %v %+v", err, again)
	}
	// Same token, different request.
	in2 := *in
	in2.Spec = dnsNode("other.local", 80)
	_, err = c.CreateVirtualNode(ctx, &in2)
	ce := wantErr[*types.ConflictException](t, err)
	if !strings.Contains(ce.ErrorMessage(), "clientToken") {
		t.Errorf("message = %q", ce.ErrorMessage())
	}
	// Same name, new token.
	_, err = c.CreateVirtualNode(ctx, &appmesh.CreateVirtualNodeInput{MeshName: aws.String("m"), VirtualNodeName: aws.String("n"), Spec: dnsNode("n.local", 80)})
	wantErr[*types.ConflictException](t, err)
	_, err = c.CreateMesh(ctx, &appmesh.CreateMeshInput{MeshName: aws.String("m")})
	wantErr[*types.ConflictException](t, err)

	// Update idempotency: one version bump for two identical calls.
	up := &appmesh.UpdateVirtualNodeInput{MeshName: aws.String("m"), VirtualNodeName: aws.String("n"), Spec: dnsNode("u.local", 80), ClientToken: aws.String("up-1")}
	for i := 0; i < 2; i++ {
		out, err := c.UpdateVirtualNode(ctx, up)
		if err != nil || *out.VirtualNode.Metadata.Version != 2 {
			t.Fatalf("update %d: %v %+v", i, err, out)
		}
	}
	up.Spec = dnsNode("v.local", 80)
	_, err = c.UpdateVirtualNode(ctx, up)
	wantErr[*types.ConflictException](t, err)
}

func TestNotFound(t *testing.T) {
	e := newEnv(t)
	c, ctx := e.client, e.ctx
	_, err := c.CreateVirtualNode(ctx, &appmesh.CreateVirtualNodeInput{MeshName: aws.String("nope"), VirtualNodeName: aws.String("n"), Spec: dnsNode("n.local", 80)})
	nf := wantErr[*types.NotFoundException](t, err)
	if !strings.Contains(nf.ErrorMessage(), "nope") {
		t.Errorf("message = %q", nf.ErrorMessage())
	}
	e.mustMesh("m")
	_, err = c.CreateRoute(ctx, &appmesh.CreateRouteInput{MeshName: aws.String("m"), VirtualRouterName: aws.String("r"), RouteName: aws.String("x"), Spec: httpRoute("/", target("n", 1))})
	wantErr[*types.NotFoundException](t, err)
	e.mustRouter("m", "r", 80)
	_, err = c.CreateRoute(ctx, &appmesh.CreateRouteInput{MeshName: aws.String("m"), VirtualRouterName: aws.String("r"), RouteName: aws.String("x"), Spec: httpRoute("/", target("ghost", 1))})
	nf = wantErr[*types.NotFoundException](t, err)
	if !strings.Contains(nf.ErrorMessage(), "VirtualNode with name ghost") {
		t.Errorf("message = %q", nf.ErrorMessage())
	}
	_, err = c.DescribeVirtualNode(ctx, &appmesh.DescribeVirtualNodeInput{MeshName: aws.String("m"), VirtualNodeName: aws.String("ghost")})
	wantErr[*types.NotFoundException](t, err)
	_, err = c.UpdateVirtualRouter(ctx, &appmesh.UpdateVirtualRouterInput{MeshName: aws.String("m"), VirtualRouterName: aws.String("ghost"), Spec: &types.VirtualRouterSpec{}})
	wantErr[*types.NotFoundException](t, err)
	_, err = c.DeleteVirtualService(ctx, &appmesh.DeleteVirtualServiceInput{MeshName: aws.String("m"), VirtualServiceName: aws.String("ghost")})
	wantErr[*types.NotFoundException](t, err)
	_, err = c.ListRoutes(ctx, &appmesh.ListRoutesInput{MeshName: aws.String("m"), VirtualRouterName: aws.String("ghost")})
	wantErr[*types.NotFoundException](t, err)
	_, err = c.DescribeMesh(ctx, &appmesh.DescribeMeshInput{MeshName: aws.String("m"), MeshOwner: aws.String("999999999999")})
	wantErr[*types.NotFoundException](t, err)
	_, err = c.DescribeMesh(ctx, &appmesh.DescribeMeshInput{MeshName: aws.String("m"), MeshOwner: aws.String(testAccount)})
	if err != nil {
		t.Errorf("own meshOwner: %v", err)
	}
}

// TestValidationNamesFieldAndKeepsStore checks that a rejected request says
// which field broke which rule, and that a rejected update changes nothing.
func TestValidationNamesFieldAndKeepsStore(t *testing.T) {
	e := newEnv(t)
	c, ctx := e.client, e.ctx
	e.mustMesh("m")
	orig := e.mustNode("m", "n")
	cases := []struct {
		name  string
		spec  *types.VirtualNodeSpec
		field string
	}{
		{"port too big", dnsNode("n.local", 70000), "spec.listeners[0].portMapping.port"},
		{"port zero", dnsNode("n.local", 0), "spec.listeners[0].portMapping.port"},
		{"listener without discovery", &types.VirtualNodeSpec{Listeners: dnsNode("x", 80).Listeners}, "spec.serviceDiscovery"},
		{"bad protocol", &types.VirtualNodeSpec{
			Listeners:        []types.Listener{{PortMapping: &types.PortMapping{Port: aws.Int32(80), Protocol: "udp"}}},
			ServiceDiscovery: dnsNode("x", 80).ServiceDiscovery,
		}, "spec.listeners[0].portMapping.protocol"},
		{"health check interval", func() *types.VirtualNodeSpec {
			s := dnsNode("n.local", 80)
			s.Listeners[0].HealthCheck = &types.HealthCheckPolicy{HealthyThreshold: aws.Int32(2), IntervalMillis: aws.Int64(10), Protocol: types.PortProtocolHttp, TimeoutMillis: aws.Int64(2000), UnhealthyThreshold: aws.Int32(2)}
			return s
		}(), "spec.listeners[0].healthCheck.intervalMillis"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.UpdateVirtualNode(ctx, &appmesh.UpdateVirtualNodeInput{MeshName: aws.String("m"), VirtualNodeName: aws.String("n"), Spec: tc.spec})
			br := wantErr[*types.BadRequestException](t, err)
			if !strings.Contains(br.ErrorMessage(), tc.field+":") {
				t.Errorf("message %q does not name %s", br.ErrorMessage(), tc.field)
			}
		})
	}
	got, err := c.DescribeVirtualNode(ctx, &appmesh.DescribeVirtualNodeInput{MeshName: aws.String("m"), VirtualNodeName: aws.String("n")})
	if err != nil || *got.VirtualNode.Metadata.Version != 1 || !got.VirtualNode.Metadata.LastUpdatedAt.Equal(*orig.Metadata.LastUpdatedAt) {
		t.Fatalf("store changed by rejected updates: %v %+v", err, got)
	}
	_, err = c.CreateRoute(ctx, &appmesh.CreateRouteInput{MeshName: aws.String("m"), VirtualRouterName: aws.String("r"), RouteName: aws.String("x"),
		Spec: &types.RouteSpec{Priority: aws.Int32(5)}})
	br := wantErr[*types.BadRequestException](t, err)
	if !strings.Contains(br.ErrorMessage(), "spec") {
		t.Errorf("no route type: %q", br.ErrorMessage())
	}
}

func TestRouterListenerRules(t *testing.T) {
	e := newEnv(t)
	c, ctx, mesh := e.client, e.ctx, aws.String("m")
	e.mustMesh("m")
	e.mustNode("m", "a")
	e.mustRouter("m", "r", 8080)
	if _, err := c.CreateRoute(ctx, &appmesh.CreateRouteInput{MeshName: mesh, VirtualRouterName: aws.String("r"), RouteName: aws.String("x"), Spec: httpRoute("/", target("a", 100))}); err != nil {
		t.Fatal(err)
	}
	// A second listener needs every route to match on a port.
	two := &types.VirtualRouterSpec{Listeners: []types.VirtualRouterListener{
		{PortMapping: &types.PortMapping{Port: aws.Int32(8080), Protocol: types.PortProtocolHttp}},
		{PortMapping: &types.PortMapping{Port: aws.Int32(9090), Protocol: types.PortProtocolHttp}},
	}}
	_, err := c.UpdateVirtualRouter(ctx, &appmesh.UpdateVirtualRouterInput{MeshName: mesh, VirtualRouterName: aws.String("r"), Spec: two})
	br := wantErr[*types.BadRequestException](t, err)
	if !strings.Contains(br.ErrorMessage(), "must define a port match") {
		t.Errorf("message = %q", br.ErrorMessage())
	}
	// A tcp route on an http router is refused.
	_, err = c.CreateRoute(ctx, &appmesh.CreateRouteInput{MeshName: mesh, VirtualRouterName: aws.String("r"), RouteName: aws.String("t"),
		Spec: &types.RouteSpec{TcpRoute: &types.TcpRoute{Action: &types.TcpRouteAction{WeightedTargets: []types.WeightedTarget{target("a", 1)}}}}})
	wantErr[*types.BadRequestException](t, err)
}

// TestInvalidRegexRejected: a regex Envoy cannot compile is refused by the
// API instead of being NACKed by every proxy later.
func TestInvalidRegexRejected(t *testing.T) {
	e := newEnv(t)
	e.mustMesh("m")
	e.mustNode("m", "a")
	e.mustRouter("m", "r", 8080)
	_, err := e.client.CreateRoute(e.ctx, &appmesh.CreateRouteInput{MeshName: aws.String("m"), VirtualRouterName: aws.String("r"), RouteName: aws.String("x"),
		Spec: &types.RouteSpec{HttpRoute: &types.HttpRoute{
			Match:  &types.HttpRouteMatch{Path: &types.HttpPathMatch{Regex: aws.String("/(unclosed")}},
			Action: &types.HttpRouteAction{WeightedTargets: []types.WeightedTarget{target("a", 1)}}}}})
	br := wantErr[*types.BadRequestException](t, err)
	if !strings.Contains(br.ErrorMessage(), "spec.httpRoute.match.path.regex: must be a valid RE2 regular expression") {
		t.Errorf("message = %q", br.ErrorMessage())
	}
}
