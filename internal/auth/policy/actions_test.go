package policy

import (
	"fmt"
	"os"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/appmesh"
	"github.com/aws/aws-sdk-go-v2/service/servicediscovery"

	am "github.com/trellis-mesh/trellis/internal/apis/appmesh"
)

// sdkOperations lists the operations of an SDK client: its exported
// methods that take a *<Name>Input.
func sdkOperations(client any) []string {
	var ops []string
	typ := reflect.TypeOf(client)
	for i := range typ.NumMethod() {
		m := typ.Method(i)
		if m.Type.NumIn() >= 3 && m.Type.In(2).String() == "*"+pkgName(typ)+"."+m.Name+"Input" {
			ops = append(ops, m.Name)
		}
	}
	sort.Strings(ops)
	return ops
}

func pkgName(typ reflect.Type) string {
	p := typ.Elem().PkgPath()
	return p[strings.LastIndex(p, "/")+1:]
}

// TestTableCoversSDK checks the table against the official SDKs: every
// operation they have is in the table exactly once, and nothing else.
func TestTableCoversSDK(t *testing.T) {
	for _, tc := range []struct {
		service string
		client  any
		want    int
	}{
		{"appmesh", &appmesh.Client{}, 38},
		{"servicediscovery", &servicediscovery.Client{}, 30},
	} {
		sdk := sdkOperations(tc.client)
		var table []string
		for _, o := range Operations() {
			if o.Service == tc.service {
				table = append(table, o.Name)
				if o.Action != tc.service+":"+o.Name {
					t.Errorf("%s: action %q", o.Name, o.Action)
				}
				if ro := strings.HasPrefix(o.Name, "Describe") || strings.HasPrefix(o.Name, "List") ||
					strings.HasPrefix(o.Name, "Get") || strings.HasPrefix(o.Name, "Discover"); ro != o.ReadOnly {
					t.Errorf("%s: ReadOnly = %v", o.Name, o.ReadOnly)
				}
			}
		}
		sort.Strings(table)
		if !reflect.DeepEqual(sdk, table) {
			t.Errorf("%s: SDK operations\n%v\ntable\n%v", tc.service, sdk, table)
		}
		if len(table) != tc.want {
			t.Errorf("%s: %d operations, want %d", tc.service, len(table), tc.want)
		}
	}
}

// TestResourceARNs checks the resource each operation is authorized
// against, after the Service Authorization Reference.
func TestResourceARNs(t *testing.T) {
	tbl := NewTable()
	tg := Target{MeshName: "shop", VirtualServiceName: "web.local", VirtualNodeName: "web", VirtualRouterName: "r",
		RouteName: "canary", VirtualGatewayName: "gw", GatewayRouteName: "to-web", NamespaceID: "ns-1", ServiceID: "srv-1",
		ResourceARN: "arn:aws:appmesh:us-east-1:111122223333:mesh/shop/virtualNode/web"}
	const p = "arn:aws:appmesh:us-east-1:111122223333:"
	tests := map[string]string{
		"appmesh:ListMeshes":                   "*",
		"appmesh:CreateMesh":                   p + "mesh/shop",
		"appmesh:ListVirtualNodes":             p + "mesh/shop",
		"appmesh:ListVirtualServices":          p + "mesh/shop",
		"appmesh:ListVirtualRouters":           p + "mesh/shop",
		"appmesh:ListVirtualGateways":          p + "mesh/shop",
		"appmesh:DescribeVirtualService":       p + "mesh/shop/virtualService/web.local",
		"appmesh:UpdateVirtualNode":            p + "mesh/shop/virtualNode/web",
		"appmesh:DeleteVirtualRouter":          p + "mesh/shop/virtualRouter/r",
		"appmesh:ListRoutes":                   p + "mesh/shop/virtualRouter/r",
		"appmesh:CreateRoute":                  p + "mesh/shop/virtualRouter/r/route/canary",
		"appmesh:CreateVirtualGateway":         p + "mesh/shop/virtualGateway/gw",
		"appmesh:ListGatewayRoutes":            p + "mesh/shop/virtualGateway/gw",
		"appmesh:UpdateGatewayRoute":           p + "mesh/shop/virtualGateway/gw/gatewayRoute/to-web",
		"appmesh:TagResource":                  p + "mesh/shop/virtualNode/web",
		"servicediscovery:ListNamespaces":      "*",
		"servicediscovery:CreateHttpNamespace": "*",
		"servicediscovery:DiscoverInstances":   "*",
		"servicediscovery:GetNamespace":        "arn:aws:servicediscovery:us-east-1:111122223333:namespace/ns-1",
		"servicediscovery:CreateService":       "arn:aws:servicediscovery:us-east-1:111122223333:namespace/ns-1",
		"servicediscovery:RegisterInstance":    "arn:aws:servicediscovery:us-east-1:111122223333:service/srv-1",
		"servicediscovery:ListInstances":       "arn:aws:servicediscovery:us-east-1:111122223333:service/srv-1",
	}
	for action, want := range tests {
		svc, name, _ := strings.Cut(action, ":")
		o, ok := tbl.Lookup(svc, name)
		if !ok {
			t.Errorf("%s not in table", action)
			continue
		}
		if got := o.ResourceARN(region, account, tg); got != want {
			t.Errorf("%s: resource %q, want %q", action, got, want)
		}
	}
	if _, ok := tbl.Lookup("appmesh", "StreamAggregatedResources"); ok {
		t.Error("unexpected operation")
	}
	// Every App Mesh ARN built here parses back with the apis helper.
	for _, o := range Operations() {
		if o.Service != "appmesh" || o.Resource == ResourceNone || o.Resource == ResourceFromARN {
			continue
		}
		arn := o.ResourceARN(region, account, tg)
		if _, err := am.ParseARN(arn); err != nil {
			t.Errorf("%s: %q does not parse: %v", o.Name, arn, err)
		}
	}
}

func TestCloudTrailNames(t *testing.T) {
	tests := map[ResourceType]string{
		ResourceMesh: "AWS::AppMesh::Mesh", ResourceRoute: "AWS::AppMesh::Route", ResourceGatewayRoute: "AWS::AppMesh::GatewayRoute",
		ResourceVirtualNode: "AWS::AppMesh::VirtualNode", ResourceService: "AWS::ServiceDiscovery::Service", ResourceNone: "",
	}
	for r, want := range tests {
		if got := r.CloudTrailType(); got != want {
			t.Errorf("%v: %q, want %q", r, got, want)
		}
	}
	if o, _ := NewTable().Lookup("servicediscovery", "RegisterInstance"); o.EventSource() != "servicediscovery.amazonaws.com" {
		t.Errorf("event source %q", o.EventSource())
	}
}

// TestDocsListEveryOperation keeps docs/policies.md's action table true to
// Operations().
func TestDocsListEveryOperation(t *testing.T) {
	doc, err := os.ReadFile("../../../docs/policies.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range Operations() {
		res := o.Resource.String()
		switch o.Resource {
		case ResourceNone:
			res = "`*`"
		case ResourceFromARN:
			res = "the `resourceArn` parameter"
		}
		kind := "write"
		if o.ReadOnly {
			kind = "read"
		}
		if o.Tagging {
			kind += ", tags"
		}
		row := fmt.Sprintf("| `%s` | %s | %s |", o.Action, res, kind)
		if !strings.Contains(string(doc), row+"\n") {
			t.Errorf("docs/policies.md lacks the row %s", row)
		}
	}
}
