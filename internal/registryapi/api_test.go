package registryapi

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	sd "github.com/aws/aws-sdk-go-v2/service/servicediscovery"
	"github.com/aws/aws-sdk-go-v2/service/servicediscovery/types"

	"github.com/aws/smithy-go/middleware"

	"github.com/trellis-mesh/trellis/internal/registry"
	"github.com/trellis-mesh/trellis/internal/store/bolt"
)

func setup(t *testing.T) (*sd.Client, context.Context) {
	t.Helper()
	return setupWith(t, registry.Options{})
}

// setupWith serves a registry with opts on loopback and returns an SDK
// client for it.
func setupWith(t *testing.T, opts registry.Options) (*sd.Client, context.Context) {
	t.Helper()
	url, ctx := serve(t, opts)
	c := sd.New(sd.Options{Region: "us-west-2", BaseEndpoint: aws.String(url),
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", ""),
		APIOptions:  []func(*middleware.Stack) error{NoHostPrefix}})
	return c, ctx
}

// serve runs a registry with opts and its API on loopback until the test
// ends and returns the API's URL.
func serve(t *testing.T, opts registry.Options) (string, context.Context) {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "r.db"), bolt.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	reg := registry.New(st, opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { reg.Run(ctx); close(done) }()
	api := New(reg, Options{Region: "us-west-2", AccountID: "123456789012"})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !IsCloudMapRequest(r) {
			http.NotFound(w, r)
			return
		}
		api.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { srv.Close(); cancel(); <-done; st.Close() })
	return srv.URL, ctx
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func wantErr[E error](t *testing.T, what string, err error) {
	t.Helper()
	var target E
	if !errors.As(err, &target) {
		t.Fatalf("%s: got %T %v, want %T", what, err, err, target)
	}
}

// namespace creates an HTTP namespace and resolves its id through
// GetOperation, as Cloud Map clients do.
func namespace(t *testing.T, c *sd.Client, ctx context.Context, name string) string {
	t.Helper()
	op := must[*sd.CreateHttpNamespaceOutput](t)(c.CreateHttpNamespace(ctx, &sd.CreateHttpNamespaceInput{Name: aws.String(name), CreatorRequestId: aws.String("req-" + name)}))
	got := must[*sd.GetOperationOutput](t)(c.GetOperation(ctx, &sd.GetOperationInput{OperationId: op.OperationId}))
	if got.Operation.Status != types.OperationStatusSuccess || got.Operation.Type != types.OperationTypeCreateNamespace {
		t.Fatalf("operation = %+v", got.Operation)
	}
	id := got.Operation.Targets["NAMESPACE"]
	if id == "" {
		t.Fatalf("operation targets = %v", got.Operation.Targets)
	}
	return id
}

func TestNamespacesAndServices(t *testing.T) {
	c, ctx := setup(t)
	nsID := namespace(t, c, ctx, "apps.local")
	// A retry with the same CreatorRequestId is the same namespace; a
	// reused id for another name is a DuplicateRequest.
	must[*sd.CreateHttpNamespaceOutput](t)(c.CreateHttpNamespace(ctx, &sd.CreateHttpNamespaceInput{Name: aws.String("apps.local"), CreatorRequestId: aws.String("req-apps.local")}))
	_, err := c.CreateHttpNamespace(ctx, &sd.CreateHttpNamespaceInput{Name: aws.String("other"), CreatorRequestId: aws.String("req-apps.local")})
	wantErr[*types.DuplicateRequest](t, "reused creator request id", err)
	_, err = c.CreateHttpNamespace(ctx, &sd.CreateHttpNamespaceInput{Name: aws.String("apps.local")})
	wantErr[*types.NamespaceAlreadyExists](t, "duplicate namespace", err)
	dns := must[*sd.CreatePrivateDnsNamespaceOutput](t)(c.CreatePrivateDnsNamespace(ctx, &sd.CreatePrivateDnsNamespaceInput{Name: aws.String("svc.internal"), Vpc: aws.String("vpc-1")}))
	if dns.OperationId == nil {
		t.Fatal("no operation id")
	}

	ns := must[*sd.GetNamespaceOutput](t)(c.GetNamespace(ctx, &sd.GetNamespaceInput{Id: aws.String(nsID)}))
	if aws.ToString(ns.Namespace.Name) != "apps.local" || ns.Namespace.Type != types.NamespaceTypeHttp || ns.Namespace.CreateDate == nil ||
		time.Since(*ns.Namespace.CreateDate) > time.Minute {
		t.Fatalf("namespace = %+v", ns.Namespace)
	}
	list := must[*sd.ListNamespacesOutput](t)(c.ListNamespaces(ctx, &sd.ListNamespacesInput{}))
	if len(list.Namespaces) != 2 {
		t.Fatalf("namespaces = %d", len(list.Namespaces))
	}
	list = must[*sd.ListNamespacesOutput](t)(c.ListNamespaces(ctx, &sd.ListNamespacesInput{Filters: []types.NamespaceFilter{{Name: types.NamespaceFilterNameType, Values: []string{"DNS_PRIVATE"}, Condition: types.FilterConditionEq}}}))
	if len(list.Namespaces) != 1 || aws.ToString(list.Namespaces[0].Name) != "svc.internal" {
		t.Fatalf("DNS_PRIVATE namespaces = %+v", list.Namespaces)
	}
	_, err = c.GetNamespace(ctx, &sd.GetNamespaceInput{Id: aws.String("ns-nope")})
	wantErr[*types.NamespaceNotFound](t, "missing namespace", err)

	svc := must[*sd.CreateServiceOutput](t)(c.CreateService(ctx, &sd.CreateServiceInput{Name: aws.String("color"), NamespaceId: aws.String(nsID),
		HealthCheckCustomConfig: &types.HealthCheckCustomConfig{FailureThreshold: aws.Int32(1)}}))
	if aws.ToString(svc.Service.NamespaceId) != nsID || svc.Service.HealthCheckCustomConfig == nil {
		t.Fatalf("service = %+v", svc.Service)
	}
	_, err = c.CreateService(ctx, &sd.CreateServiceInput{Name: aws.String("color"), NamespaceId: aws.String(nsID)})
	wantErr[*types.ServiceAlreadyExists](t, "duplicate service", err)
	_, err = c.CreateService(ctx, &sd.CreateServiceInput{Name: aws.String("x"), NamespaceId: aws.String("ns-nope")})
	wantErr[*types.NamespaceNotFound](t, "service in missing namespace", err)
	svcs := must[*sd.ListServicesOutput](t)(c.ListServices(ctx, &sd.ListServicesInput{Filters: []types.ServiceFilter{{Name: types.ServiceFilterNameNamespaceId, Values: []string{nsID}, Condition: types.FilterConditionEq}}}))
	if len(svcs.Services) != 1 || aws.ToString(svcs.Services[0].Id) != aws.ToString(svc.Service.Id) {
		t.Fatalf("services = %+v", svcs.Services)
	}
	got := must[*sd.GetServiceOutput](t)(c.GetService(ctx, &sd.GetServiceInput{Id: svc.Service.Id}))
	if aws.ToString(got.Service.Name) != "color" {
		t.Fatalf("GetService = %+v", got.Service)
	}
	_, err = c.DeleteNamespace(ctx, &sd.DeleteNamespaceInput{Id: aws.String(nsID)})
	wantErr[*types.ResourceInUse](t, "delete namespace with a service", err)
	must[*sd.DeleteServiceOutput](t)(c.DeleteService(ctx, &sd.DeleteServiceInput{Id: svc.Service.Id}))
	_, err = c.GetService(ctx, &sd.GetServiceInput{Id: svc.Service.Id})
	wantErr[*types.ServiceNotFound](t, "deleted service", err)
	must[*sd.DeleteNamespaceOutput](t)(c.DeleteNamespace(ctx, &sd.DeleteNamespaceInput{Id: aws.String(nsID)}))
	_, err = c.DeleteNamespace(ctx, &sd.DeleteNamespaceInput{Id: aws.String(nsID)})
	wantErr[*types.NamespaceNotFound](t, "deleted namespace", err)
}

func TestInstances(t *testing.T) {
	c, ctx := setup(t)
	nsID := namespace(t, c, ctx, "apps.local")
	svc := must[*sd.CreateServiceOutput](t)(c.CreateService(ctx, &sd.CreateServiceInput{Name: aws.String("color"), NamespaceId: aws.String(nsID),
		HealthCheckCustomConfig: &types.HealthCheckCustomConfig{}}))
	sid := svc.Service.Id
	reg := func(id, ip, version string, extra ...string) {
		a := map[string]string{"AWS_INSTANCE_IPV4": ip, "AWS_INSTANCE_PORT": "8080", "version": version}
		for i := 0; i+1 < len(extra); i += 2 {
			a[extra[i]] = extra[i+1]
		}
		must[*sd.RegisterInstanceOutput](t)(c.RegisterInstance(ctx, &sd.RegisterInstanceInput{ServiceId: sid, InstanceId: aws.String(id), Attributes: a}))
	}
	reg("b1", "10.0.0.1", "blue")
	reg("g1", "10.0.0.2", "green", "AWS_INIT_HEALTH_STATUS", "UNHEALTHY")
	_, err := c.RegisterInstance(ctx, &sd.RegisterInstanceInput{ServiceId: aws.String("srv-nope"), InstanceId: aws.String("x"), Attributes: map[string]string{}})
	wantErr[*types.ServiceNotFound](t, "register in missing service", err)
	_, err = c.RegisterInstance(ctx, &sd.RegisterInstanceInput{ServiceId: sid, InstanceId: aws.String("x"), Attributes: map[string]string{"AWS_INIT_HEALTH_STATUS": "MAYBE"}})
	wantErr[*types.InvalidInput](t, "bad init health", err)

	li := must[*sd.ListInstancesOutput](t)(c.ListInstances(ctx, &sd.ListInstancesInput{ServiceId: sid}))
	if len(li.Instances) != 2 || aws.ToString(li.Instances[0].Id) != "b1" || li.Instances[0].Attributes["version"] != "blue" {
		t.Fatalf("ListInstances = %+v", li.Instances)
	}
	gi := must[*sd.GetInstanceOutput](t)(c.GetInstance(ctx, &sd.GetInstanceInput{ServiceId: sid, InstanceId: aws.String("g1")}))
	if gi.Instance.Attributes["AWS_INSTANCE_IPV4"] != "10.0.0.2" {
		t.Fatalf("GetInstance = %+v", gi.Instance)
	}
	_, err = c.GetInstance(ctx, &sd.GetInstanceInput{ServiceId: sid, InstanceId: aws.String("nope")})
	wantErr[*types.InstanceNotFound](t, "missing instance", err)

	discover := func(status types.HealthStatusFilter, q map[string]string) []types.HttpInstanceSummary {
		t.Helper()
		return must[*sd.DiscoverInstancesOutput](t)(c.DiscoverInstances(ctx, &sd.DiscoverInstancesInput{
			NamespaceName: aws.String("apps.local"), ServiceName: aws.String("color"), HealthStatus: status, QueryParameters: q})).Instances
	}
	if d := discover("", nil); len(d) != 1 || aws.ToString(d[0].InstanceId) != "b1" || d[0].HealthStatus != types.HealthStatusHealthy {
		t.Fatalf("DiscoverInstances (default HEALTHY) = %+v", d)
	}
	if d := discover(types.HealthStatusFilterAll, nil); len(d) != 2 {
		t.Fatalf("DiscoverInstances ALL = %+v", d)
	}
	if d := discover(types.HealthStatusFilterAll, map[string]string{"version": "green"}); len(d) != 1 || d[0].HealthStatus != types.HealthStatusUnhealthy {
		t.Fatalf("DiscoverInstances version=green = %+v", d)
	}
	if d := discover(types.HealthStatusFilterHealthyOrElseAll, map[string]string{"version": "green"}); len(d) != 1 {
		t.Fatalf("HEALTHY_OR_ELSE_ALL = %+v", d)
	}
	must[*sd.UpdateInstanceCustomHealthStatusOutput](t)(c.UpdateInstanceCustomHealthStatus(ctx, &sd.UpdateInstanceCustomHealthStatusInput{
		ServiceId: sid, InstanceId: aws.String("g1"), Status: types.CustomHealthStatusHealthy}))
	if d := discover(types.HealthStatusFilterHealthy, nil); len(d) != 2 {
		t.Fatalf("after health update = %+v", d)
	}
	_, err = c.DiscoverInstances(ctx, &sd.DiscoverInstancesInput{NamespaceName: aws.String("nope"), ServiceName: aws.String("color")})
	wantErr[*types.NamespaceNotFound](t, "discover in missing namespace", err)
	_, err = c.DiscoverInstances(ctx, &sd.DiscoverInstancesInput{NamespaceName: aws.String("apps.local"), ServiceName: aws.String("nope")})
	wantErr[*types.ServiceNotFound](t, "discover missing service", err)

	_, err = c.DeleteService(ctx, &sd.DeleteServiceInput{Id: sid})
	wantErr[*types.ResourceInUse](t, "delete service with instances", err)
	must[*sd.DeregisterInstanceOutput](t)(c.DeregisterInstance(ctx, &sd.DeregisterInstanceInput{ServiceId: sid, InstanceId: aws.String("b1")}))
	_, err = c.DeregisterInstance(ctx, &sd.DeregisterInstanceInput{ServiceId: sid, InstanceId: aws.String("b1")})
	wantErr[*types.InstanceNotFound](t, "deregister twice", err)
	if d := discover(types.HealthStatusFilterAll, nil); len(d) != 1 || aws.ToString(d[0].InstanceId) != "g1" {
		t.Fatalf("after deregister = %+v", d)
	}
	_, err = c.GetOperation(ctx, &sd.GetOperationInput{OperationId: aws.String("bogus!")})
	wantErr[*types.OperationNotFound](t, "unknown operation", err)
}
