package apiserver_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/appmesh"
	"github.com/aws/aws-sdk-go-v2/service/appmesh/types"
)

// TestNameRules: names that could not work everywhere (ARNs, proxy node
// ids, REST paths) are refused through the official SDK with a
// BadRequestException naming the field and the rule, and nothing is stored.
func TestNameRules(t *testing.T) {
	e := newEnv(t)
	c, ctx := e.client, e.ctx
	e.mustMesh("m")
	cases := []struct {
		name  string
		call  func() error
		field string
		rule  string
	}{
		{"NUL in mesh name", func() error {
			_, err := c.CreateMesh(ctx, &appmesh.CreateMeshInput{MeshName: aws.String("nul\x00mesh")})
			return err
		}, "meshName", "must not contain control characters"},
		{"slash in mesh name", func() error {
			_, err := c.CreateMesh(ctx, &appmesh.CreateMeshInput{MeshName: aws.String("a/b")})
			return err
		}, "meshName", `must not contain "/"`},
		{"dot-dot mesh name", func() error {
			_, err := c.CreateMesh(ctx, &appmesh.CreateMeshInput{MeshName: aws.String("..")})
			return err
		}, "meshName", `must not be ".."`},
		{"slash in node name", func() error {
			_, err := c.CreateVirtualNode(ctx, &appmesh.CreateVirtualNodeInput{MeshName: aws.String("m"),
				VirtualNodeName: aws.String("vn/x"), Spec: dnsNode("n.local", 80)})
			return err
		}, "virtualNodeName", `must not contain "/"`},
		{"slash in virtual service name", func() error {
			_, err := c.CreateVirtualService(ctx, &appmesh.CreateVirtualServiceInput{MeshName: aws.String("m"),
				VirtualServiceName: aws.String("svc/v1.local"), Spec: &types.VirtualServiceSpec{}})
			return err
		}, "virtualServiceName", `must not contain "/"`},
		{"space in node name", func() error {
			_, err := c.CreateVirtualNode(ctx, &appmesh.CreateVirtualNodeInput{MeshName: aws.String("m"),
				VirtualNodeName: aws.String("my node"), Spec: dnsNode("n.local", 80)})
			return err
		}, "virtualNodeName", "must not contain whitespace"},
		{"owner syntax in mesh name", func() error {
			_, err := c.CreateMesh(ctx, &appmesh.CreateMeshInput{MeshName: aws.String("shared@111122223333")})
			return err
		}, "meshName", `must not contain "@"`},
		{"newline in router name", func() error {
			_, err := c.CreateVirtualRouter(ctx, &appmesh.CreateVirtualRouterInput{MeshName: aws.String("m"),
				VirtualRouterName: aws.String("r\n"), Spec: &types.VirtualRouterSpec{}})
			return err
		}, "virtualRouterName", "must not contain control characters"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			br := wantErr[*types.BadRequestException](t, tc.call())
			if msg := br.ErrorMessage(); !strings.Contains(msg, tc.field+": "+tc.rule) {
				t.Errorf("message %q does not say %s: %s", msg, tc.field, tc.rule)
			}
		})
	}
	meshes, err := c.ListMeshes(ctx, &appmesh.ListMeshesInput{})
	if err != nil || len(meshes.Meshes) != 1 {
		t.Fatalf("want only mesh m stored, got %v %v", meshes, err)
	}
}

// TestInvalidUTF8Refused: the SDKs escape strings, so raw HTTP sends the
// bytes; invalid UTF-8 in a body member or a path label is a
// BadRequestException, never stored as U+FFFD.
func TestInvalidUTF8Refused(t *testing.T) {
	e := newEnv(t)
	e.mustMesh("m")
	cases := []struct{ name, method, path, body, want string }{
		{"body member", "PUT", "/v20190125/meshes", "{\"meshName\":\"bad\xffname\"}", "meshName: must be valid UTF-8"},
		{"nested in spec", "PUT", "/v20190125/meshes/m/virtualServices",
			"{\"virtualServiceName\":\"s.local\",\"spec\":{},\"tags\":[{\"key\":\"k\",\"value\":\"\xc3\"}]}", "tags: must be valid UTF-8"},
		{"path label", "PUT", "/v20190125/meshes/m%FF", `{"spec":{}}`, "meshName: must be valid UTF-8"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, e.srv.URL+tc.path, strings.NewReader(tc.body))
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 400 || resp.Header.Get("X-Amzn-Errortype") != "BadRequestException" || !strings.Contains(string(b), tc.want) {
				t.Errorf("%s %s = %d %s %s, want 400 BadRequestException %q", tc.method, tc.path, resp.StatusCode,
					resp.Header.Get("X-Amzn-Errortype"), b, tc.want)
			}
		})
	}
	meshes, err := e.client.ListMeshes(e.ctx, &appmesh.ListMeshesInput{})
	if err != nil || len(meshes.Meshes) != 1 {
		t.Fatalf("want only mesh m stored, got %+v %v", meshes, err)
	}
}
