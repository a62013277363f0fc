package server

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/trellis-mesh/trellis/internal/apiserver"
	"github.com/trellis-mesh/trellis/internal/auth"
	"github.com/trellis-mesh/trellis/internal/auth/policy"
	"github.com/trellis-mesh/trellis/internal/registryapi"
)

// TestOperationNames records, for every App Mesh (38) and Cloud Map (30)
// operation and for requests that are none, what the authorization
// middleware's classifier (IAM action, resource ARN, read-only) and the API
// metrics (api and operation labels) make of the same request. The first
// 68 rows are the operations; wherever the metrics name an operation, the
// classifier names the same one.
func TestOperationNames(t *testing.T) {
	const (
		am     = "arn:aws:appmesh:us-east-1:111122223333:"
		sd     = "arn:aws:servicediscovery:us-east-1:111122223333:"
		target = "Route53AutoNaming_v20170314."
		cmBody = `{"Id":"id-1","NamespaceId":"ns-1","ServiceId":"srv-1","ResourceARN":"` + sd + `service/srv-1"}`
	)
	c := auth.Classifier{Region: "us-east-1", AccountID: "111122223333", CloudMap: policy.NewTable()}
	m := newAPIMetrics(prometheus.NewRegistry(), apiserver.New(nil, nil), registryapi.New(nil, registryapi.Options{}))
	tests := []struct {
		method, path, target, body string
		action, resource           string
		readOnly                   bool
		api, op                    string
	}{
		// App Mesh: the 38 operations.
		{"GET", "/v20190125/meshes", "", "", "appmesh:ListMeshes", "*", true, "appmesh", "ListMeshes"},
		{"PUT", "/v20190125/meshes", "", `{"meshName":"shop"}`, "appmesh:CreateMesh", am + "mesh/shop", false, "appmesh", "CreateMesh"},
		{"GET", "/v20190125/meshes/shop", "", "", "appmesh:DescribeMesh", am + "mesh/shop", true, "appmesh", "DescribeMesh"},
		{"PUT", "/v20190125/meshes/shop", "", "{}", "appmesh:UpdateMesh", am + "mesh/shop", false, "appmesh", "UpdateMesh"},
		{"DELETE", "/v20190125/meshes/shop", "", "", "appmesh:DeleteMesh", am + "mesh/shop", false, "appmesh", "DeleteMesh"},
		{"GET", "/v20190125/meshes/shop/virtualServices", "", "", "appmesh:ListVirtualServices", am + "mesh/shop", true, "appmesh", "ListVirtualServices"},
		{"PUT", "/v20190125/meshes/shop/virtualServices", "", `{"virtualServiceName":"s.local"}`, "appmesh:CreateVirtualService", am + "mesh/shop/virtualService/s.local", false, "appmesh", "CreateVirtualService"},
		{"GET", "/v20190125/meshes/shop/virtualServices/s.local", "", "", "appmesh:DescribeVirtualService", am + "mesh/shop/virtualService/s.local", true, "appmesh", "DescribeVirtualService"},
		{"PUT", "/v20190125/meshes/shop/virtualServices/s.local", "", "{}", "appmesh:UpdateVirtualService", am + "mesh/shop/virtualService/s.local", false, "appmesh", "UpdateVirtualService"},
		{"DELETE", "/v20190125/meshes/shop/virtualServices/s.local", "", "", "appmesh:DeleteVirtualService", am + "mesh/shop/virtualService/s.local", false, "appmesh", "DeleteVirtualService"},
		{"GET", "/v20190125/meshes/shop/virtualNodes", "", "", "appmesh:ListVirtualNodes", am + "mesh/shop", true, "appmesh", "ListVirtualNodes"},
		{"PUT", "/v20190125/meshes/shop/virtualNodes", "", `{"virtualNodeName":"web"}`, "appmesh:CreateVirtualNode", am + "mesh/shop/virtualNode/web", false, "appmesh", "CreateVirtualNode"},
		{"GET", "/v20190125/meshes/shop/virtualNodes/web", "", "", "appmesh:DescribeVirtualNode", am + "mesh/shop/virtualNode/web", true, "appmesh", "DescribeVirtualNode"},
		{"PUT", "/v20190125/meshes/shop/virtualNodes/web", "", "{}", "appmesh:UpdateVirtualNode", am + "mesh/shop/virtualNode/web", false, "appmesh", "UpdateVirtualNode"},
		{"DELETE", "/v20190125/meshes/shop/virtualNodes/web", "", "", "appmesh:DeleteVirtualNode", am + "mesh/shop/virtualNode/web", false, "appmesh", "DeleteVirtualNode"},
		{"GET", "/v20190125/meshes/shop/virtualRouters", "", "", "appmesh:ListVirtualRouters", am + "mesh/shop", true, "appmesh", "ListVirtualRouters"},
		{"PUT", "/v20190125/meshes/shop/virtualRouters", "", `{"virtualRouterName":"r"}`, "appmesh:CreateVirtualRouter", am + "mesh/shop/virtualRouter/r", false, "appmesh", "CreateVirtualRouter"},
		{"GET", "/v20190125/meshes/shop/virtualRouters/r", "", "", "appmesh:DescribeVirtualRouter", am + "mesh/shop/virtualRouter/r", true, "appmesh", "DescribeVirtualRouter"},
		{"PUT", "/v20190125/meshes/shop/virtualRouters/r", "", "{}", "appmesh:UpdateVirtualRouter", am + "mesh/shop/virtualRouter/r", false, "appmesh", "UpdateVirtualRouter"},
		{"DELETE", "/v20190125/meshes/shop/virtualRouters/r", "", "", "appmesh:DeleteVirtualRouter", am + "mesh/shop/virtualRouter/r", false, "appmesh", "DeleteVirtualRouter"},
		{"GET", "/v20190125/meshes/shop/virtualRouter/r/routes", "", "", "appmesh:ListRoutes", am + "mesh/shop/virtualRouter/r", true, "appmesh", "ListRoutes"},
		{"PUT", "/v20190125/meshes/shop/virtualRouter/r/routes", "", `{"routeName":"main"}`, "appmesh:CreateRoute", am + "mesh/shop/virtualRouter/r/route/main", false, "appmesh", "CreateRoute"},
		{"GET", "/v20190125/meshes/shop/virtualRouter/r/routes/main", "", "", "appmesh:DescribeRoute", am + "mesh/shop/virtualRouter/r/route/main", true, "appmesh", "DescribeRoute"},
		{"PUT", "/v20190125/meshes/shop/virtualRouter/r/routes/main", "", "{}", "appmesh:UpdateRoute", am + "mesh/shop/virtualRouter/r/route/main", false, "appmesh", "UpdateRoute"},
		{"DELETE", "/v20190125/meshes/shop/virtualRouter/r/routes/main", "", "", "appmesh:DeleteRoute", am + "mesh/shop/virtualRouter/r/route/main", false, "appmesh", "DeleteRoute"},
		{"GET", "/v20190125/meshes/shop/virtualGateways", "", "", "appmesh:ListVirtualGateways", am + "mesh/shop", true, "appmesh", "ListVirtualGateways"},
		{"PUT", "/v20190125/meshes/shop/virtualGateways", "", `{"virtualGatewayName":"g"}`, "appmesh:CreateVirtualGateway", am + "mesh/shop/virtualGateway/g", false, "appmesh", "CreateVirtualGateway"},
		{"GET", "/v20190125/meshes/shop/virtualGateways/g", "", "", "appmesh:DescribeVirtualGateway", am + "mesh/shop/virtualGateway/g", true, "appmesh", "DescribeVirtualGateway"},
		{"PUT", "/v20190125/meshes/shop/virtualGateways/g", "", "{}", "appmesh:UpdateVirtualGateway", am + "mesh/shop/virtualGateway/g", false, "appmesh", "UpdateVirtualGateway"},
		{"DELETE", "/v20190125/meshes/shop/virtualGateways/g", "", "", "appmesh:DeleteVirtualGateway", am + "mesh/shop/virtualGateway/g", false, "appmesh", "DeleteVirtualGateway"},
		{"GET", "/v20190125/meshes/shop/virtualGateway/g/gatewayRoutes", "", "", "appmesh:ListGatewayRoutes", am + "mesh/shop/virtualGateway/g", true, "appmesh", "ListGatewayRoutes"},
		{"PUT", "/v20190125/meshes/shop/virtualGateway/g/gatewayRoutes", "", `{"gatewayRouteName":"x"}`, "appmesh:CreateGatewayRoute", am + "mesh/shop/virtualGateway/g/gatewayRoute/x", false, "appmesh", "CreateGatewayRoute"},
		{"GET", "/v20190125/meshes/shop/virtualGateway/g/gatewayRoutes/x", "", "", "appmesh:DescribeGatewayRoute", am + "mesh/shop/virtualGateway/g/gatewayRoute/x", true, "appmesh", "DescribeGatewayRoute"},
		{"PUT", "/v20190125/meshes/shop/virtualGateway/g/gatewayRoutes/x", "", "{}", "appmesh:UpdateGatewayRoute", am + "mesh/shop/virtualGateway/g/gatewayRoute/x", false, "appmesh", "UpdateGatewayRoute"},
		{"DELETE", "/v20190125/meshes/shop/virtualGateway/g/gatewayRoutes/x", "", "", "appmesh:DeleteGatewayRoute", am + "mesh/shop/virtualGateway/g/gatewayRoute/x", false, "appmesh", "DeleteGatewayRoute"},
		{"GET", "/v20190125/tags?resourceArn=" + am + "mesh/shop/virtualNode/web", "", "", "appmesh:ListTagsForResource", am + "mesh/shop/virtualNode/web", true, "appmesh", "ListTagsForResource"},
		{"PUT", "/v20190125/tag?resourceArn=" + am + "mesh/shop/virtualNode/web", "", "{}", "appmesh:TagResource", am + "mesh/shop/virtualNode/web", false, "appmesh", "TagResource"},
		{"PUT", "/v20190125/untag?resourceArn=" + am + "mesh/shop/virtualNode/web", "", "{}", "appmesh:UntagResource", am + "mesh/shop/virtualNode/web", false, "appmesh", "UntagResource"},

		// Cloud Map: the 30 operations.
		{"POST", "/", target + "CreateHttpNamespace", cmBody, "servicediscovery:CreateHttpNamespace", "*", false, "servicediscovery", "CreateHttpNamespace"},
		{"POST", "/", target + "CreatePrivateDnsNamespace", cmBody, "servicediscovery:CreatePrivateDnsNamespace", "*", false, "servicediscovery", "CreatePrivateDnsNamespace"},
		{"POST", "/", target + "CreatePublicDnsNamespace", cmBody, "servicediscovery:CreatePublicDnsNamespace", "*", false, "servicediscovery", "CreatePublicDnsNamespace"},
		{"POST", "/", target + "GetNamespace", cmBody, "servicediscovery:GetNamespace", sd + "namespace/ns-1", true, "servicediscovery", "GetNamespace"},
		{"POST", "/", target + "ListNamespaces", cmBody, "servicediscovery:ListNamespaces", "*", true, "servicediscovery", "ListNamespaces"},
		{"POST", "/", target + "UpdateHttpNamespace", cmBody, "servicediscovery:UpdateHttpNamespace", sd + "namespace/ns-1", false, "servicediscovery", "UpdateHttpNamespace"},
		{"POST", "/", target + "UpdatePrivateDnsNamespace", cmBody, "servicediscovery:UpdatePrivateDnsNamespace", sd + "namespace/ns-1", false, "servicediscovery", "UpdatePrivateDnsNamespace"},
		{"POST", "/", target + "UpdatePublicDnsNamespace", cmBody, "servicediscovery:UpdatePublicDnsNamespace", sd + "namespace/ns-1", false, "servicediscovery", "UpdatePublicDnsNamespace"},
		{"POST", "/", target + "DeleteNamespace", cmBody, "servicediscovery:DeleteNamespace", sd + "namespace/ns-1", false, "servicediscovery", "DeleteNamespace"},
		{"POST", "/", target + "CreateService", cmBody, "servicediscovery:CreateService", sd + "namespace/ns-1", false, "servicediscovery", "CreateService"},
		{"POST", "/", target + "GetService", cmBody, "servicediscovery:GetService", sd + "service/srv-1", true, "servicediscovery", "GetService"},
		{"POST", "/", target + "ListServices", cmBody, "servicediscovery:ListServices", "*", true, "servicediscovery", "ListServices"},
		{"POST", "/", target + "UpdateService", cmBody, "servicediscovery:UpdateService", sd + "service/srv-1", false, "servicediscovery", "UpdateService"},
		{"POST", "/", target + "DeleteService", cmBody, "servicediscovery:DeleteService", sd + "service/srv-1", false, "servicediscovery", "DeleteService"},
		{"POST", "/", target + "GetServiceAttributes", cmBody, "servicediscovery:GetServiceAttributes", sd + "service/srv-1", true, "servicediscovery", "GetServiceAttributes"},
		{"POST", "/", target + "UpdateServiceAttributes", cmBody, "servicediscovery:UpdateServiceAttributes", sd + "service/srv-1", false, "servicediscovery", "UpdateServiceAttributes"},
		{"POST", "/", target + "DeleteServiceAttributes", cmBody, "servicediscovery:DeleteServiceAttributes", sd + "service/srv-1", false, "servicediscovery", "DeleteServiceAttributes"},
		{"POST", "/", target + "RegisterInstance", cmBody, "servicediscovery:RegisterInstance", sd + "service/srv-1", false, "servicediscovery", "RegisterInstance"},
		{"POST", "/", target + "DeregisterInstance", cmBody, "servicediscovery:DeregisterInstance", sd + "service/srv-1", false, "servicediscovery", "DeregisterInstance"},
		{"POST", "/", target + "GetInstance", cmBody, "servicediscovery:GetInstance", sd + "service/srv-1", true, "servicediscovery", "GetInstance"},
		{"POST", "/", target + "ListInstances", cmBody, "servicediscovery:ListInstances", sd + "service/srv-1", true, "servicediscovery", "ListInstances"},
		{"POST", "/", target + "GetInstancesHealthStatus", cmBody, "servicediscovery:GetInstancesHealthStatus", sd + "service/srv-1", true, "servicediscovery", "GetInstancesHealthStatus"},
		{"POST", "/", target + "UpdateInstanceCustomHealthStatus", cmBody, "servicediscovery:UpdateInstanceCustomHealthStatus", sd + "service/srv-1", false, "servicediscovery", "UpdateInstanceCustomHealthStatus"},
		{"POST", "/", target + "DiscoverInstances", cmBody, "servicediscovery:DiscoverInstances", "*", true, "servicediscovery", "DiscoverInstances"},
		{"POST", "/", target + "DiscoverInstancesRevision", cmBody, "servicediscovery:DiscoverInstancesRevision", "*", true, "servicediscovery", "DiscoverInstancesRevision"},
		{"POST", "/", target + "GetOperation", cmBody, "servicediscovery:GetOperation", "*", true, "servicediscovery", "GetOperation"},
		{"POST", "/", target + "ListOperations", cmBody, "servicediscovery:ListOperations", "*", true, "servicediscovery", "ListOperations"},
		{"POST", "/", target + "ListTagsForResource", cmBody, "servicediscovery:ListTagsForResource", sd + "service/srv-1", true, "servicediscovery", "ListTagsForResource"},
		{"POST", "/", target + "TagResource", cmBody, "servicediscovery:TagResource", sd + "service/srv-1", false, "servicediscovery", "TagResource"},
		{"POST", "/", target + "UntagResource", cmBody, "servicediscovery:UntagResource", sd + "service/srv-1", false, "servicediscovery", "UntagResource"},

		// Requests that are no operation.
		{"GET", "/healthz", "", "", "appmesh:Unknown", "*", false, "other", "other"},
		{"GET", "/v20190125/nope/x/y", "", "", "appmesh:Unknown", "*", false, "other", "other"},
		{"HEAD", "/v20190125/meshes", "", "", "appmesh:ListMeshes", "*", true, "appmesh", "ListMeshes"},
		{"GET", "/v20190125/meshes/shop/virtualNodes/a%2Fb", "", "", "appmesh:DescribeVirtualNode", am + "mesh/shop/virtualNode/a/b", true, "appmesh", "DescribeVirtualNode"},
		{"GET", "/v20190125/meshes/", "", "", "appmesh:ListMeshes", "*", true, "other", "other"},
		{"GET", "/v20190125/meshes/shop/virtualNodes/web/", "", "", "appmesh:DescribeVirtualNode", am + "mesh/shop/virtualNode/web", true, "other", "other"},
		{"POST", "/", target + "MadeUp", "{}", "servicediscovery:MadeUp", "*", false, "other", "other"},
		{"GET", "/", target + "GetService", "{}", "appmesh:Unknown", "*", false, "other", "other"},
		{"GET", "/v20190125/meshes/shop/virtualRouters/r/routes", "", "", "appmesh:Unknown", "*", false, "other", "other"},
		{"GET", "/v20190125/meshes/shop/virtualNodes/web/x", "", "", "appmesh:Unknown", "*", false, "other", "other"},
		{"PUT", "/v20190125/meshes", "", "not json", "appmesh:CreateMesh", am + "mesh/", false, "appmesh", "CreateMesh"},

		// A method the route does not serve is no operation (the API answers
		// 404), and HEAD is GET, as in the API's mux. Before the routes table
		// the classifier named these, in order, appmesh:ListMeshes,
		// appmesh:ListMeshes, appmesh:Mesh, appmesh:ListTagsForResource and
		// appmesh:Mesh (on the mesh's ARN, not read-only).
		{"POST", "/v20190125/meshes", "", "", "appmesh:Unknown", "*", false, "other", "other"},
		{"DELETE", "/v20190125/meshes", "", "", "appmesh:Unknown", "*", false, "other", "other"},
		{"PATCH", "/v20190125/meshes/shop", "", "", "appmesh:Unknown", "*", false, "other", "other"},
		{"PUT", "/v20190125/tags", "", "", "appmesh:Unknown", "*", false, "other", "other"},
		{"HEAD", "/v20190125/meshes/shop", "", "", "appmesh:DescribeMesh", am + "mesh/shop", true, "appmesh", "DescribeMesh"},
	}
	ops := map[string]bool{}
	for i, tc := range tests {
		t.Run(tc.method+" "+tc.path+" "+tc.target, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body))
			if tc.target != "" {
				r.Header.Set("X-Amz-Target", tc.target)
			}
			got := c.Classify(r, []byte(tc.body))
			if got.Action != tc.action || got.Resource != tc.resource || got.ReadOnly != tc.readOnly {
				t.Errorf("classified as %s on %s (read-only %v), want %s on %s (%v)",
					got.Action, got.Resource, got.ReadOnly, tc.action, tc.resource, tc.readOnly)
			}
			api, op := m.name(r)
			if api != tc.api || op != tc.op {
				t.Errorf("metric labels api=%s operation=%s, want %s, %s", api, op, tc.api, tc.op)
			}
			if api != apiOther && got.Action != api+":"+op {
				t.Errorf("action %s and metric label %s:%s disagree", got.Action, api, op)
			}
		})
		if i < 38+30 {
			ops[tc.api+":"+tc.op] = true
		}
	}
	if len(ops) != 38+30 {
		t.Errorf("%d distinct operations, want 38 App Mesh and 30 Cloud Map", len(ops))
	}
}
