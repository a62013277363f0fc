package apiserver_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/appmesh"
	"github.com/aws/aws-sdk-go-v2/service/appmesh/types"

	"github.com/trellis-mesh/trellis/internal/apiserver"
	"github.com/trellis-mesh/trellis/internal/manager"
	"github.com/trellis-mesh/trellis/internal/store/bolt"
)

const (
	testRegion  = "us-west-2"
	testAccount = "123456789012"
)

// env is a real API server on loopback over a bbolt store in a temp dir,
// and the official AWS SDK client pointed at it.
type env struct {
	t      *testing.T
	dir    string
	st     *bolt.Store
	srv    *httptest.Server
	client *appmesh.Client
	ctx    context.Context
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, dir: t.TempDir(), ctx: context.Background()}
	e.start()
	t.Cleanup(e.stop)
	return e
}

func (e *env) start() {
	e.t.Helper()
	st, err := bolt.Open(filepath.Join(e.dir, "trellis.db"), bolt.Options{})
	if err != nil {
		e.t.Fatalf("open store: %v", err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	mgr := manager.New(st, manager.Options{Region: testRegion, AccountID: testAccount, Logger: log})
	e.st = st
	e.srv = httptest.NewServer(apiserver.New(mgr, log))
	e.client = newClient(e.srv.URL)
}

func (e *env) stop() {
	if e.srv != nil {
		e.srv.Close()
		e.st.Close()
		e.srv = nil
	}
}

// restart stops the server and opens the same data directory again.
func (e *env) restart() {
	e.stop()
	e.start()
}

func newClient(url string) *appmesh.Client {
	return appmesh.New(appmesh.Options{
		Region:       testRegion,
		BaseEndpoint: aws.String(url),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
	})
}

// wantErr asserts err is the typed SDK error T and returns it.
func wantErr[T error](t *testing.T, err error) T {
	t.Helper()
	var target T
	if !errors.As(err, &target) {
		t.Fatalf("want %T, got %v", target, err)
	}
	return target
}

func dnsNode(host string, port int32) *types.VirtualNodeSpec {
	return &types.VirtualNodeSpec{
		Listeners:        []types.Listener{{PortMapping: &types.PortMapping{Port: aws.Int32(port), Protocol: types.PortProtocolHttp}}},
		ServiceDiscovery: &types.ServiceDiscoveryMemberDns{Value: types.DnsServiceDiscovery{Hostname: aws.String(host)}},
	}
}

func (e *env) mustMesh(name string) *types.MeshData {
	e.t.Helper()
	out, err := e.client.CreateMesh(e.ctx, &appmesh.CreateMeshInput{MeshName: aws.String(name)})
	if err != nil {
		e.t.Fatalf("CreateMesh %s: %v", name, err)
	}
	return out.Mesh
}

func (e *env) mustNode(mesh, name string) *types.VirtualNodeData {
	e.t.Helper()
	out, err := e.client.CreateVirtualNode(e.ctx, &appmesh.CreateVirtualNodeInput{
		MeshName: aws.String(mesh), VirtualNodeName: aws.String(name), Spec: dnsNode(name+".local", 8080),
	})
	if err != nil {
		e.t.Fatalf("CreateVirtualNode %s: %v", name, err)
	}
	return out.VirtualNode
}

func (e *env) mustRouter(mesh, name string, ports ...int32) *types.VirtualRouterData {
	e.t.Helper()
	spec := &types.VirtualRouterSpec{}
	for _, p := range ports {
		spec.Listeners = append(spec.Listeners, types.VirtualRouterListener{PortMapping: &types.PortMapping{Port: aws.Int32(p), Protocol: types.PortProtocolHttp}})
	}
	out, err := e.client.CreateVirtualRouter(e.ctx, &appmesh.CreateVirtualRouterInput{MeshName: aws.String(mesh), VirtualRouterName: aws.String(name), Spec: spec})
	if err != nil {
		e.t.Fatalf("CreateVirtualRouter %s: %v", name, err)
	}
	return out.VirtualRouter
}

func httpRoute(prefix string, targets ...types.WeightedTarget) *types.RouteSpec {
	return &types.RouteSpec{HttpRoute: &types.HttpRoute{
		Match:  &types.HttpRouteMatch{Prefix: aws.String(prefix)},
		Action: &types.HttpRouteAction{WeightedTargets: targets},
	}}
}

func target(node string, weight int32) types.WeightedTarget {
	return types.WeightedTarget{VirtualNode: aws.String(node), Weight: weight}
}
