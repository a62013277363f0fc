package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/appmesh"
	"github.com/aws/aws-sdk-go-v2/service/appmesh/types"
	"github.com/aws/smithy-go"

	"github.com/trellis-mesh/trellis/internal/auth/audit"
	"github.com/trellis-mesh/trellis/internal/auth/awscreds"
	"github.com/trellis-mesh/trellis/internal/server"
)

// onlyUpdateRouteInShop is a policy as App Mesh users write it: this role
// may only UpdateRoute (and read) in mesh shop.
const onlyUpdateRouteInShop = `{
  "Version": "2012-10-17",
  "Statement": [
    {"Effect": "Allow", "Action": "appmesh:UpdateRoute",
     "Resource": "arn:aws:appmesh:*:*:mesh/shop/virtualRouter/*/route/*"},
    {"Effect": "Allow", "Action": ["appmesh:Describe*", "appmesh:List*"], "Resource": "*"}
  ]
}`

// TestPolicyAndAudit: with the policy engine and audit log wired, a CI
// role holding an App Mesh policy may update routes in shop only; every
// call, allowed or denied, is in the audit log once, in order, with its
// principal.
func TestPolicyAndAudit(t *testing.T) {
	auditDir := t.TempDir()
	s, admin := startAuthServer(t, func(c *server.Config) { c.Auth.AuditDir = auditDir })
	ctx := context.Background()
	base := aws.String("http://" + s.Addr())
	am := appmesh.New(appmesh.Options{Region: testRegion, BaseEndpoint: base, Credentials: awscreds.Provider{Creds: admin}})
	for _, mesh := range []string{"shop", "other"} {
		mustDo(t, func() error {
			_, err := am.CreateMesh(ctx, &appmesh.CreateMeshInput{MeshName: aws.String(mesh)})
			return err
		})
		mustDo(t, func() error {
			_, err := am.CreateVirtualNode(ctx, &appmesh.CreateVirtualNodeInput{MeshName: aws.String(mesh), VirtualNodeName: aws.String("web"), Spec: &types.VirtualNodeSpec{}})
			return err
		})
		mustDo(t, func() error {
			_, err := am.CreateVirtualRouter(ctx, &appmesh.CreateVirtualRouterInput{MeshName: aws.String(mesh), VirtualRouterName: aws.String("r"),
				Spec: &types.VirtualRouterSpec{Listeners: []types.VirtualRouterListener{{PortMapping: &types.PortMapping{Port: aws.Int32(80), Protocol: types.PortProtocolHttp}}}}})
			return err
		})
		mustDo(t, func() error { _, err := am.CreateRoute(ctx, routeInput(mesh)); return err })
	}
	const role = "arn:aws:iam::" + testAccount + ":role/ci"
	if _, err := s.Keys().CreatePrincipal(ctx, role); err != nil {
		t.Fatal(err)
	}
	if err := s.Keys().SetPolicy(ctx, role, "routes", json.RawMessage(onlyUpdateRouteInShop)); err != nil {
		t.Fatal(err)
	}
	key, err := s.Keys().CreateKey(ctx, role, 0)
	if err != nil {
		t.Fatal(err)
	}
	ci := appmesh.New(appmesh.Options{Region: testRegion, BaseEndpoint: base, RetryMaxAttempts: 1,
		Credentials: awscreds.Provider{Creds: aws.Credentials{AccessKeyID: key.AccessKeyID, SecretAccessKey: key.SecretAccessKey}}})
	if _, err := ci.UpdateRoute(ctx, updateInput("shop")); err != nil {
		t.Fatalf("UpdateRoute in shop: %v", err)
	}
	for name, call := range map[string]func() error{
		"UpdateRoute in other": func() error { _, err := ci.UpdateRoute(ctx, updateInput("other")); return err },
		"DeleteRoute in shop": func() error {
			_, err := ci.DeleteRoute(ctx, &appmesh.DeleteRouteInput{MeshName: aws.String("shop"), VirtualRouterName: aws.String("r"), RouteName: aws.String("main")})
			return err
		},
	} {
		var ae smithy.APIError
		if err := call(); !errors.As(err, &ae) || ae.ErrorCode() != "AccessDeniedException" {
			t.Fatalf("%s: want AccessDeniedException, got %v", name, err)
		}
	}
	if _, err := ci.DescribeRoute(ctx, &appmesh.DescribeRouteInput{MeshName: aws.String("other"), VirtualRouterName: aws.String("r"), RouteName: aws.String("main")}); err != nil {
		t.Fatalf("DescribeRoute: %v", err)
	}

	var got []string
	err = audit.Query(auditDir, audit.Filter{}, func(r audit.Record) error {
		if !r.ReadOnly {
			who := strings.TrimPrefix(r.UserIdentity.ARN, "arn:aws:iam::"+testAccount+":")
			got = append(got, who+" "+r.EventName+" "+r.ErrorCode)
		}
		if strings.Contains(string(mustJSON(r)), key.SecretAccessKey) || strings.Contains(string(mustJSON(r)), admin.SecretAccessKey) {
			t.Errorf("secret in audit record %+v", r)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"user/admin CreateMesh ", "user/admin CreateVirtualNode ", "user/admin CreateVirtualRouter ", "user/admin CreateRoute ",
		"user/admin CreateMesh ", "user/admin CreateVirtualNode ", "user/admin CreateVirtualRouter ", "user/admin CreateRoute ",
		"role/ci UpdateRoute ",
	}
	// The two denied calls ran in map order; compare them as a set.
	if len(got) != len(want)+2 || strings.Join(got[:len(want)], "|") != strings.Join(want, "|") {
		t.Fatalf("audit (mutating calls):\n%s", strings.Join(got, "\n"))
	}
	denied := strings.Join(got[len(want):], "|")
	for _, w := range []string{"role/ci UpdateRoute AccessDeniedException", "role/ci DeleteRoute AccessDeniedException"} {
		if !strings.Contains(denied, w) {
			t.Fatalf("denied calls %q lack %q", denied, w)
		}
	}
}

func routeInput(mesh string) *appmesh.CreateRouteInput {
	return &appmesh.CreateRouteInput{MeshName: aws.String(mesh), VirtualRouterName: aws.String("r"), RouteName: aws.String("main"),
		Spec: routeSpec()}
}

func updateInput(mesh string) *appmesh.UpdateRouteInput {
	return &appmesh.UpdateRouteInput{MeshName: aws.String(mesh), VirtualRouterName: aws.String("r"), RouteName: aws.String("main"), Spec: routeSpec()}
}

func routeSpec() *types.RouteSpec {
	return &types.RouteSpec{HttpRoute: &types.HttpRoute{
		Match:  &types.HttpRouteMatch{Prefix: aws.String("/")},
		Action: &types.HttpRouteAction{WeightedTargets: []types.WeightedTarget{{VirtualNode: aws.String("web"), Weight: 1}}},
	}}
}

func mustDo(t *testing.T, f func() error) {
	t.Helper()
	if err := f(); err != nil {
		t.Fatal(err)
	}
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// TestResourceTagCondition: aws:ResourceTag conditions read the App Mesh
// resource's tags; aws:RequestTag conditions read the Create call's tags.
func TestResourceTagCondition(t *testing.T) {
	s, admin := startAuthServer(t, nil)
	ctx := context.Background()
	base := aws.String("http://" + s.Addr())
	am := appmesh.New(appmesh.Options{Region: testRegion, BaseEndpoint: base, Credentials: awscreds.Provider{Creds: admin}})
	for _, mesh := range []string{"paid", "free"} {
		in := &appmesh.CreateMeshInput{MeshName: aws.String(mesh)}
		if mesh == "paid" {
			in.Tags = []types.TagRef{{Key: aws.String("team"), Value: aws.String("payments")}}
		}
		mustDo(t, func() error { _, err := am.CreateMesh(ctx, in); return err })
	}
	const role = "arn:aws:iam::" + testAccount + ":role/payments"
	policy := `{"Version":"2012-10-17","Statement":[
	  {"Effect":"Allow","Action":"appmesh:UpdateMesh","Resource":"*","Condition":{"StringEquals":{"aws:ResourceTag/team":"payments"}}},
	  {"Effect":"Allow","Action":"appmesh:CreateMesh","Resource":"*","Condition":{"StringEquals":{"aws:RequestTag/team":"payments"}}}]}`
	if _, err := s.Keys().CreatePrincipal(ctx, role); err != nil {
		t.Fatal(err)
	}
	if err := s.Keys().SetPolicy(ctx, role, "team", json.RawMessage(policy)); err != nil {
		t.Fatal(err)
	}
	key, _ := s.Keys().CreateKey(ctx, role, 0)
	c := appmesh.New(appmesh.Options{Region: testRegion, BaseEndpoint: base, RetryMaxAttempts: 1,
		Credentials: awscreds.Provider{Creds: aws.Credentials{AccessKeyID: key.AccessKeyID, SecretAccessKey: key.SecretAccessKey}}})
	tagged := []types.TagRef{{Key: aws.String("team"), Value: aws.String("payments")}}
	tests := []struct {
		name string
		call func() error
		deny bool
	}{
		{"update tagged mesh", func() error {
			_, err := c.UpdateMesh(ctx, &appmesh.UpdateMeshInput{MeshName: aws.String("paid")})
			return err
		}, false},
		{"update untagged mesh", func() error {
			_, err := c.UpdateMesh(ctx, &appmesh.UpdateMeshInput{MeshName: aws.String("free")})
			return err
		}, true},
		{"create with the tag", func() error {
			_, err := c.CreateMesh(ctx, &appmesh.CreateMeshInput{MeshName: aws.String("new"), Tags: tagged})
			return err
		}, false},
		{"create without it", func() error {
			_, err := c.CreateMesh(ctx, &appmesh.CreateMeshInput{MeshName: aws.String("new2")})
			return err
		}, true},
	}
	for _, tc := range tests {
		err := tc.call()
		var ae smithy.APIError
		denied := errors.As(err, &ae) && ae.ErrorCode() == "AccessDeniedException"
		if denied != tc.deny || (!tc.deny && err != nil) {
			t.Errorf("%s: deny=%v, got %v", tc.name, tc.deny, err)
		}
	}
}
