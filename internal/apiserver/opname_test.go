package apiserver

import (
	"net/http/httptest"
	"testing"
)

func TestOperation(t *testing.T) {
	s := New(nil, nil)
	tests := []struct {
		method, path, want string
	}{
		{"PUT", "/v20190125/meshes", "CreateMesh"},
		{"GET", "/v20190125/meshes", "ListMeshes"},
		{"GET", "/v20190125/meshes/m", "DescribeMesh"},
		{"DELETE", "/v20190125/meshes/m", "DeleteMesh"},
		{"PUT", "/v20190125/meshes/m/virtualNodes/n", "UpdateVirtualNode"},
		{"GET", "/v20190125/meshes/m/virtualRouter/r/routes", "ListRoutes"},
		{"PUT", "/v20190125/meshes/m/virtualRouter/r/routes", "CreateRoute"},
		{"DELETE", "/v20190125/meshes/m/virtualGateway/g/gatewayRoutes/x", "DeleteGatewayRoute"},
		{"GET", "/v20190125/meshes/m/virtualServices", "ListVirtualServices"},
		{"GET", "/v20190125/tags?resourceArn=x", "ListTagsForResource"},
		{"PUT", "/v20190125/tag?resourceArn=x", "TagResource"},
		{"PUT", "/v20190125/untag?resourceArn=x", "UntagResource"},
		{"GET", "/healthz", ""},
		{"GET", "/nope", ""},
		{"POST", "/v20190125/meshes", ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			if got := s.Operation(httptest.NewRequest(tt.method, tt.path, nil)); got != tt.want {
				t.Errorf("Operation = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestOperationCoversEveryRoute: every registered App Mesh route has a name,
// and the names are distinct (38 operations).
func TestOperationCoversEveryRoute(t *testing.T) {
	s := New(nil, nil)
	seen := map[string]bool{}
	for _, r := range s.ops.AppMesh() {
		op := s.operationName(r.Method + " " + r.Pattern)
		if op == "" || seen[op] {
			t.Errorf("pattern %s %s: operation %q empty or duplicate", r.Method, r.Pattern, op)
		}
		seen[op] = true
	}
	if len(seen) != 38 {
		t.Errorf("%d operations, want 38", len(seen))
	}
}
