package auth

import (
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/trellis-mesh/trellis/internal/apiserver/routes"
	"github.com/trellis-mesh/trellis/internal/auth/policy"
)

// TestClassify: each route gets App Mesh's operation name and the ARN IAM
// authorizes it on.
func TestClassify(t *testing.T) {
	c := Classifier{Region: "us-east-1", AccountID: "111122223333", CloudMap: policy.NewTable()}
	const arn = "arn:aws:appmesh:us-east-1:111122223333:"
	tests := []struct {
		method, path, body, target string
		action, resource           string
	}{
		{"GET", "/v20190125/meshes", "", "", "appmesh:ListMeshes", "*"},
		{"PUT", "/v20190125/meshes", `{"meshName":"shop"}`, "", "appmesh:CreateMesh", arn + "mesh/shop"},
		{"GET", "/v20190125/meshes/shop", "", "", "appmesh:DescribeMesh", arn + "mesh/shop"},
		{"PUT", "/v20190125/meshes/shop", "{}", "", "appmesh:UpdateMesh", arn + "mesh/shop"},
		{"DELETE", "/v20190125/meshes/shop", "", "", "appmesh:DeleteMesh", arn + "mesh/shop"},
		{"GET", "/v20190125/meshes/shop/virtualNodes", "", "", "appmesh:ListVirtualNodes", arn + "mesh/shop"},
		{"PUT", "/v20190125/meshes/shop/virtualNodes", `{"virtualNodeName":"web"}`, "", "appmesh:CreateVirtualNode", arn + "mesh/shop/virtualNode/web"},
		{"GET", "/v20190125/meshes/shop/virtualNodes/a%2Fb", "", "", "appmesh:DescribeVirtualNode", arn + "mesh/shop/virtualNode/a/b"},
		{"GET", "/v20190125/meshes/shop/virtualRouter/r/routes", "", "", "appmesh:ListRoutes", arn + "mesh/shop/virtualRouter/r"},
		{"PUT", "/v20190125/meshes/shop/virtualRouter/r/routes/main", "{}", "", "appmesh:UpdateRoute", arn + "mesh/shop/virtualRouter/r/route/main"},
		{"PUT", "/v20190125/meshes/shop/virtualRouter/r/routes", `{"routeName":"main"}`, "", "appmesh:CreateRoute", arn + "mesh/shop/virtualRouter/r/route/main"},
		{"DELETE", "/v20190125/meshes/shop/virtualGateway/g/gatewayRoutes/x", "", "", "appmesh:DeleteGatewayRoute", arn + "mesh/shop/virtualGateway/g/gatewayRoute/x"},
		{"GET", "/v20190125/meshes/shop/virtualServices/s.local", "", "", "appmesh:DescribeVirtualService", arn + "mesh/shop/virtualService/s.local"},
		{"PUT", "/v20190125/tag?resourceArn=" + arn + "mesh/shop", "{}", "", "appmesh:TagResource", arn + "mesh/shop"},
		{"GET", "/v20190125/tags?resourceArn=" + arn + "mesh/shop", "", "", "appmesh:ListTagsForResource", arn + "mesh/shop"},
		{"GET", "/v20190125/nope/x/y", "", "", "appmesh:Unknown", "*"},
		{"POST", "/", `{"ServiceId":"srv-1","InstanceId":"i"}`, "Route53AutoNaming_v20170314.RegisterInstance", "servicediscovery:RegisterInstance", "arn:aws:servicediscovery:us-east-1:111122223333:service/srv-1"},
		{"POST", "/", `{"Id":"ns-1"}`, "Route53AutoNaming_v20170314.GetNamespace", "servicediscovery:GetNamespace", "arn:aws:servicediscovery:us-east-1:111122223333:namespace/ns-1"},
		{"POST", "/", `{}`, "Route53AutoNaming_v20170314.ListNamespaces", "servicediscovery:ListNamespaces", "*"},
		{"POST", AdminPathPrefix + "CreateAccessKey", "{}", "", "trellis:CreateAccessKey", "*"},
		{"GET", "/debug/xds", "", "", "trellis:Debug", "*"},
		{"GET", "/metrics", "", "", "trellis:GetMetrics", "*"},
		{"GET", "/v1/telemetry/signals", "", "", "trellis:GetTelemetry", "*"},
		{"GET", "/v1/telemetry/edges", "", "", "trellis:GetTelemetry", "*"},
		{"GET", "/v1/proxies", "", "", "trellis:GetProxies", "*"},
		{"GET", "/trellis/v1/history", "", "", "trellis:GetHistory", "*"},
		{"GET", "/trellis/v1/events", "", "", "trellis:GetEvents", "*"},
		{"GET", "/ui/app.js", "", "", "trellis:GetConsole", "*"},
		{"GET", "/admin/backup", "", "", "trellis:GetBackup", "*"},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body))
			if tc.target != "" {
				r.Header.Set("X-Amz-Target", tc.target)
			}
			got := c.Classify(r, []byte(tc.body))
			if got.Action != tc.action || got.Resource != tc.resource {
				t.Fatalf("got %s on %s, want %s on %s", got.Action, got.Resource, tc.action, tc.resource)
			}
			if ro := tc.method == http.MethodGet && got.Name != "Unknown" || strings.HasPrefix(got.Name, "Get") || strings.HasPrefix(got.Name, "List"); got.ReadOnly != ro {
				t.Fatalf("readOnly %v", got.ReadOnly)
			}
			if tc.target == "" { // without the operations table: the same operation
				bare := Classifier{Region: c.Region, AccountID: c.AccountID, Routes: routes.NewTable()}
				if b := bare.Classify(r, []byte(tc.body)); b != got {
					t.Fatalf("without the table: %+v, with it: %+v", b, got)
				}
			}
		})
	}
}

// TestClassifyAllocations: with both tables, naming an App Mesh call
// allocates only its ARN.
func TestClassifyAllocations(t *testing.T) {
	c := Classifier{Region: "us-east-1", AccountID: "111122223333", CloudMap: policy.NewTable(), Routes: routes.NewTable()}
	for _, path := range []string{"/v20190125/meshes/shop", "/v20190125/meshes/shop/virtualRouter/r/routes/main",
		"/v20190125/meshes/shop/virtualGateway/g/gatewayRoutes/x"} {
		r := httptest.NewRequest(http.MethodGet, path, nil)
		if a := testing.AllocsPerRun(20, func() { _ = c.Classify(r, nil) }); a != 1 {
			t.Errorf("%s: %v allocations, want 1", path, a)
		}
	}
}

// FuzzClassify feeds arbitrary methods, paths, targets and bodies (all
// from the network) to the classifier and the request-tag reader.
func FuzzClassify(f *testing.F) {
	f.Add("PUT", "/v20190125/meshes/shop/virtualRouter/r/routes", "", `{"routeName":"a","tags":[{"key":"k","value":"v"}]}`)
	f.Add("POST", "/", "Route53AutoNaming_v20170314.CreateService", `{"Tags":[{"Key":"k","Value":"v"}]}`)
	f.Add("GET", "/v20190125/tags", "", "")
	c := Classifier{Region: "us-east-1", AccountID: "111122223333"}
	f.Fuzz(func(t *testing.T, method, path, target, body string) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Method, r.URL.Path, r.URL.RawPath = method, path, ""
		r.Header.Set("X-Amz-Target", target)
		op := c.Classify(r, []byte(body))
		if op.Action == "" || op.Resource == "" || !strings.HasPrefix(op.Action, op.Service+":") {
			t.Fatalf("classified %q %q as %+v", method, path, op)
		}
		requestTags([]byte(body))
	})
}

// TestRoutesAreIAMs: the operations the API port routes (the routes table)
// are exactly those the IAM table authorizes, service by service.
func TestRoutesAreIAMs(t *testing.T) {
	iam := map[string]bool{}
	for _, o := range policy.Operations() {
		iam[o.Service+":"+o.Name] = true
	}
	routed := map[string]bool{}
	for _, r := range routes.AppMesh() {
		routed[ServiceAppMesh+":"+r.Name] = true
	}
	for _, name := range routes.CloudMap() {
		routed[ServiceServiceDiscovery+":"+name] = true
	}
	if !maps.Equal(iam, routed) {
		t.Errorf("IAM table and routes table differ:\nIAM    %v\nrouted %v", slices.Sorted(maps.Keys(iam)), slices.Sorted(maps.Keys(routed)))
	}
}
