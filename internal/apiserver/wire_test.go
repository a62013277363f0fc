package apiserver_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/appmesh"
	"github.com/aws/aws-sdk-go-v2/service/appmesh/types"
)

// do sends a raw request, as botocore or curl would, and returns status,
// headers and the decoded JSON body.
func do(t *testing.T, e *env, method, path, body string) (int, http.Header, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%s %s: body is not a JSON object: %q", method, path, raw)
	}
	return resp.StatusCode, resp.Header, m
}

func TestWireShapes(t *testing.T) {
	e := newEnv(t)
	status, h, m := do(t, e, "PUT", "/v20190125/meshes", `{"meshName":"w","clientToken":"abc"}`)
	if status != 200 || h.Get("x-amzn-RequestId") == "" {
		t.Fatalf("create: %d %v", status, m)
	}
	md := m["metadata"].(map[string]any)
	if _, ok := md["createdAt"].(float64); !ok {
		t.Errorf("createdAt must be a JSON number, got %T", md["createdAt"])
	}
	if v, ok := md["version"].(float64); !ok || v != 1 {
		t.Errorf("version = %v", md["version"])
	}
	if spec, ok := m["spec"].(map[string]any); !ok || len(spec) != 0 {
		t.Errorf("spec = %v, want {}", m["spec"])
	}
	if m["status"].(map[string]any)["status"] != "ACTIVE" {
		t.Errorf("status = %v", m["status"])
	}

	cases := []struct {
		method, path, body string
		status             int
		errType, contains  string
	}{
		{"GET", "/v20190125/meshes/ghost", "", 404, "NotFoundException", "ghost"},
		{"PUT", "/v20190125/meshes", "", 400, "BadRequestException", "meshName"},
		{"PUT", "/v20190125/meshes", `{"meshName":"x","bogus":1}`, 400, "BadRequestException", "bogus"},
		{"PUT", "/v20190125/meshes", `{"meshName":"x","spec":{"egressFilter":{"type":"ALLOW_ALL","extra":true}}}`, 400, "BadRequestException", "extra"},
		{"PUT", "/v20190125/meshes", `[1,2]`, 400, "BadRequestException", "JSON object"},
		{"PUT", "/v20190125/meshes/w/virtualNodes", `{"virtualNodeName":"n","spec":{"listeners":[{"portMapping":{"port":8080.5,"protocol":"http"}}]}}`, 400, "BadRequestException", "spec.listeners.portMapping.port"},
		{"PUT", "/v20190125/meshes/w/virtualNodes", `{"virtualNodeName":"n"}`, 400, "BadRequestException", "spec: is required"},
		{"GET", "/v20190125/meshes?limit=0", "", 400, "BadRequestException", "limit"},
		{"GET", "/v20190125/nothing", "", 404, "NotFoundException", "no App Mesh operation"},
		{"DELETE", "/v20190125/meshes/w/virtualRouter/r/routes/x", "", 404, "NotFoundException", "Route with name x"},
	}
	for _, tc := range cases {
		status, h, m := do(t, e, tc.method, tc.path, tc.body)
		msg, _ := m["message"].(string)
		if status != tc.status || h.Get("X-Amzn-ErrorType") != tc.errType || !strings.Contains(msg, tc.contains) {
			t.Errorf("%s %s %s: got %d %s %q; want %d %s containing %q", tc.method, tc.path, tc.body, status, h.Get("X-Amzn-ErrorType"), msg, tc.status, tc.errType, tc.contains)
		}
	}
	status, _, m = do(t, e, "PUT", "/v20190125/tag?resourceArn=arn:aws:appmesh:us-west-2:123456789012:mesh/w", `{"tags":[{"key":"k","value":"v"}]}`)
	if status != 200 || len(m) != 0 {
		t.Errorf("TagResource: %d %v, want 200 {}", status, m)
	}
}

// TestEscapedNames: the SDK percent-escapes labels; a name with characters
// that are special in URLs must stay one label. ("/" itself is refused in
// names: see TestNameRules.)
func TestEscapedNames(t *testing.T) {
	e := newEnv(t)
	e.mustMesh("m")
	name := aws.String("weird%2Fname with space?#&+")
	if _, err := e.client.CreateVirtualService(e.ctx, &appmesh.CreateVirtualServiceInput{MeshName: aws.String("m"), VirtualServiceName: name, Spec: &types.VirtualServiceSpec{}}); err != nil {
		t.Fatal(err)
	}
	out, err := e.client.DescribeVirtualService(e.ctx, &appmesh.DescribeVirtualServiceInput{MeshName: aws.String("m"), VirtualServiceName: name})
	if err != nil || *out.VirtualService.VirtualServiceName != *name {
		t.Fatalf("describe: %v %+v", err, out)
	}
}

func TestHealthz(t *testing.T) {
	e := newEnv(t)
	resp, err := http.Get(e.srv.URL + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", err, resp)
	}
	resp.Body.Close()
}
