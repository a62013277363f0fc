package routes

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/appmesh"
	"github.com/aws/aws-sdk-go-v2/service/servicediscovery"
	"github.com/aws/smithy-go/middleware"

	apis "github.com/trellis-mesh/trellis/internal/apis/appmesh"
)

var errSent = errors.New("request captured")

// capture is an SDK HTTP client that keeps the request and sends nothing.
type capture struct{ req *http.Request }

func (c *capture) Do(r *http.Request) (*http.Response, error) {
	c.req = r
	return nil, errSent
}

// sdkRequests calls every operation of the App Mesh SDK client (inputs with
// every top-level string set, client-side validation off) and returns the
// HTTP request each one sends, by operation name.
func sdkRequests(t *testing.T) map[string]*http.Request {
	t.Helper()
	c := &capture{}
	client := appmesh.New(appmesh.Options{Region: "us-east-1", HTTPClient: c, Retryer: aws.NopRetryer{},
		Credentials: aws.AnonymousCredentials{}, BaseEndpoint: aws.String("http://127.0.0.1:1"),
		APIOptions: []func(*middleware.Stack) error{func(s *middleware.Stack) error {
			_, _ = s.Initialize.Remove("OperationInputValidation") // absent on operations without required members
			return nil
		}}})
	out := map[string]*http.Request{}
	v := reflect.ValueOf(client)
	for i := range v.NumMethod() {
		m := v.Type().Method(i)
		if m.Type.NumIn() != 4 || m.Type.In(2).Elem().Name() != m.Name+"Input" {
			continue
		}
		in := reflect.New(m.Type.In(2).Elem())
		for f := range in.Elem().NumField() {
			if fv := in.Elem().Field(f); fv.Type() == reflect.TypeFor[*string]() {
				fv.Set(reflect.ValueOf(aws.String("x")))
			}
		}
		c.req = nil
		res := m.Func.Call([]reflect.Value{v, reflect.ValueOf(context.Background()), in})
		if err, _ := res[1].Interface().(error); !errors.Is(err, errSent) || c.req == nil {
			t.Fatalf("%s: the SDK sent nothing: %v", m.Name, err)
		}
		out[m.Name] = c.req
	}
	return out
}

// TestAppMeshIsTheSDKs: the table holds exactly the SDK's operations, and
// both lookups (a ServeMux with the table's patterns, and Match) name each
// request the SDK sends after its operation.
func TestAppMeshIsTheSDKs(t *testing.T) {
	tab := NewTable()
	mux := http.NewServeMux()
	for _, r := range tab.AppMesh() {
		mux.HandleFunc(r.Method+" "+r.Pattern, func(http.ResponseWriter, *http.Request) {})
	}
	sent := sdkRequests(t)
	if len(sent) != 38 || len(tab.AppMesh()) != 38 {
		t.Fatalf("%d SDK operations, %d in the table; want 38", len(sent), len(tab.AppMesh()))
	}
	for name, req := range sent {
		_, pattern := mux.Handler(req)
		if r, ok := tab.ByPattern(pattern); !ok || r.Name != name {
			t.Errorf("%s: %s %s matches pattern %q, operation %q", name, req.Method, req.URL.Path, pattern, r.Name)
		}
		segs := strings.Split(strings.TrimPrefix(req.URL.Path, "/"), "/")
		if r, _, ok := tab.Match(req.Method, segs); !ok || r.Name != name {
			t.Errorf("%s: %s %s matches %q", name, req.Method, req.URL.Path, r.Name)
		}
	}
}

// TestCloudMapIsTheSDKs: every Cloud Map name is an operation of the SDK.
func TestCloudMapIsTheSDKs(t *testing.T) {
	client := reflect.TypeFor[*servicediscovery.Client]()
	names := CloudMap()
	for _, name := range names {
		if _, ok := client.MethodByName(name); !ok {
			t.Errorf("%s is no servicediscovery operation", name)
		}
	}
	sorted := slices.Clone(names)
	slices.Sort(sorted)
	if len(slices.Compact(sorted)) != 30 {
		t.Errorf("%d distinct Cloud Map operations, want 30", len(slices.Compact(sorted)))
	}
	tab := NewTable()
	if !tab.IsCloudMap("RegisterInstance") || tab.IsCloudMap("MadeUp") || tab.IsCloudMap("") {
		t.Error("IsCloudMap does not follow CloudMap()")
	}
}

func TestMatch(t *testing.T) {
	tab := NewTable()
	for _, tc := range []struct {
		method, path string
		name         string // "" for no match
		params       Params
	}{
		{"GET", "v20190125/meshes", "ListMeshes", Params{}},
		{"PUT", "v20190125/meshes", "CreateMesh", Params{}},
		{"GET", "v20190125/meshes/shop", "DescribeMesh", Params{Mesh: "shop", Name: "shop"}},
		{"HEAD", "v20190125/meshes/shop", "DescribeMesh", Params{Mesh: "shop", Name: "shop"}},
		{"PUT", "v20190125/meshes/shop/virtualNodes", "CreateVirtualNode", Params{Mesh: "shop"}},
		{"DELETE", "v20190125/meshes/shop/virtualNodes/a/b", "", Params{}},
		{"GET", "v20190125/meshes/shop/virtualRouter/r/routes", "ListRoutes", Params{Mesh: "shop", Parent: "r"}},
		{"PUT", "v20190125/meshes/shop/virtualGateway/g/gatewayRoutes/x", "UpdateGatewayRoute", Params{Mesh: "shop", Parent: "g", Name: "x"}},
		{"GET", "v20190125/meshes//virtualServices/", "DescribeVirtualService", Params{}},
		{"GET", "v20190125/tags", "ListTagsForResource", Params{}},
		{"PUT", "v20190125/tags", "", Params{}},
		{"POST", "v20190125/meshes", "", Params{}},
		{"PATCH", "v20190125/meshes/shop", "", Params{}},
		{"GET", "v20190125/meshes/shop/virtualRouters/r/routes", "", Params{}},
		{"GET", "v20190126/meshes", "", Params{}},
		{"GET", "", "", Params{}},
	} {
		r, p, ok := tab.Match(tc.method, strings.Split(tc.path, "/"))
		if ok != (tc.name != "") || r.Name != tc.name || p != tc.params {
			t.Errorf("Match(%s %s) = %q %+v %v, want %q %+v", tc.method, tc.path, r.Name, p, ok, tc.name, tc.params)
		}
	}
}

// TestRoutesCarryTheirKind: every kind has its five operations, named
// after it.
func TestRoutesCarryTheirKind(t *testing.T) {
	n := map[apis.Kind]int{}
	for _, r := range AppMesh() {
		if r.Kind != 0 && !strings.HasSuffix(r.Name, r.Kind.String()) && r.Verb != List {
			t.Errorf("%s acts on %s", r.Name, r.Kind)
		}
		n[r.Kind]++
	}
	for _, k := range apis.Kinds {
		if n[k] != 5 {
			t.Errorf("%s has %d operations, want 5", k, n[k])
		}
	}
}
