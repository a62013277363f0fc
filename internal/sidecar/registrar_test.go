package sidecar_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/appmesh"
	amtypes "github.com/aws/aws-sdk-go-v2/service/appmesh/types"
	sd "github.com/aws/aws-sdk-go-v2/service/servicediscovery"
	sdtypes "github.com/aws/aws-sdk-go-v2/service/servicediscovery/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/trellis-mesh/trellis/internal/registryapi"
	"github.com/trellis-mesh/trellis/internal/server"
	"github.com/trellis-mesh/trellis/internal/sidecar"
)

// registryEnv is a Trellis server in-process with mesh "m", namespace
// apps.local and service blue.
type registryEnv struct {
	endpoint string
	mesh     *appmesh.Client
	sd       *sd.Client
	nsID     string
}

func startRegistry(t *testing.T, ttl time.Duration) *registryEnv {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if os.Getenv("TRELLIS_E2E_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	srv, err := server.Start(server.Config{
		DataDir: t.TempDir(), APIAddr: "127.0.0.1:0", XDSAddr: "127.0.0.1:0",
		Region: "us-west-2", AccountID: "123456789012", Logger: log, ShutdownTimeout: 2 * time.Second,
		RegistryTTL: ttl,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Stop() })
	e := &registryEnv{endpoint: "http://" + srv.Addr()}
	creds := credentials.NewStaticCredentialsProvider("AKID", "secret", "")
	e.mesh = appmesh.New(appmesh.Options{Region: "us-west-2", BaseEndpoint: aws.String(e.endpoint), Credentials: creds})
	e.sd = sd.New(sd.Options{Region: "us-west-2", BaseEndpoint: aws.String(e.endpoint), Credentials: creds,
		APIOptions: []func(*middleware.Stack) error{registryapi.NoHostPrefix}})
	ctx := context.Background()
	if _, err := e.mesh.CreateMesh(ctx, &appmesh.CreateMeshInput{MeshName: aws.String("m")}); err != nil {
		t.Fatal(err)
	}
	op, err := e.sd.CreateHttpNamespace(ctx, &sd.CreateHttpNamespaceInput{Name: aws.String("apps.local")})
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.sd.GetOperation(ctx, &sd.GetOperationInput{OperationId: op.OperationId})
	if err != nil {
		t.Fatal(err)
	}
	e.nsID = got.Operation.Targets["NAMESPACE"]
	return e
}

func (e *registryEnv) createService(t *testing.T, name string) string {
	t.Helper()
	out, err := e.sd.CreateService(context.Background(), &sd.CreateServiceInput{Name: aws.String(name), NamespaceId: aws.String(e.nsID)})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.Service.Id)
}

func (e *registryEnv) node(t *testing.T, name string, discovery amtypes.ServiceDiscovery) {
	t.Helper()
	_, err := e.mesh.CreateVirtualNode(context.Background(), &appmesh.CreateVirtualNodeInput{
		MeshName: aws.String("m"), VirtualNodeName: aws.String(name), Spec: &amtypes.VirtualNodeSpec{
			Listeners:        []amtypes.Listener{{PortMapping: &amtypes.PortMapping{Port: aws.Int32(9080), Protocol: amtypes.PortProtocolHttp}}},
			ServiceDiscovery: discovery,
		}})
	if err != nil {
		t.Fatal(err)
	}
}

func (e *registryEnv) instances(t *testing.T, svcID string) []sdtypes.InstanceSummary {
	t.Helper()
	out, err := e.sd.ListInstances(context.Background(), &sd.ListInstancesInput{ServiceId: aws.String(svcID)})
	if err != nil {
		t.Fatal(err)
	}
	return out.Instances
}

func cloudMap(service string, attrs map[string]string) amtypes.ServiceDiscovery {
	cm := amtypes.AwsCloudMapServiceDiscovery{NamespaceName: aws.String("apps.local"), ServiceName: aws.String(service)}
	for k, v := range attrs {
		cm.Attributes = append(cm.Attributes, amtypes.AwsCloudMapInstanceAttribute{Key: aws.String(k), Value: aws.String(v)})
	}
	return &amtypes.ServiceDiscoveryMemberAwsCloudMap{Value: cm}
}

func waitFor(t *testing.T, timeout time.Duration, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRegistrarLifecycle registers an awsCloudMap node's instance with the
// node's attributes, keeps it alive past the registry TTL by heartbeats,
// and removes it for good on Deregister.
func TestRegistrarLifecycle(t *testing.T) {
	const ttl = time.Second
	e := startRegistry(t, ttl)
	svcID := e.createService(t, "blue")
	e.node(t, "blue", cloudMap("blue", map[string]string{"version": "v1"}))
	id, _ := sidecar.NewIdentity("m", sidecar.KindVirtualNode, "blue")
	r := sidecar.NewCloudMapRegistrar(sidecar.RegistryOptions{APIEndpoint: e.endpoint, InstanceID: "blue-1",
		HeartbeatInterval: 200 * time.Millisecond}, "127.0.0.7", nil)
	if err := r.Register(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	inst := e.instances(t, svcID)
	if len(inst) != 1 || aws.ToString(inst[0].Id) != "blue-1" {
		t.Fatalf("instances = %+v", inst)
	}
	want := map[string]string{"AWS_INSTANCE_IPV4": "127.0.0.7", "AWS_INSTANCE_PORT": "9080", "version": "v1",
		"trellis.io/virtualNode": "blue", "trellis.io/ttl": "1"}
	for k, v := range want {
		if got := inst[0].Attributes[k]; got != v {
			t.Errorf("attribute %s = %q, want %q (all: %v)", k, got, v, inst[0].Attributes)
		}
	}
	// Heartbeats outlive the TTL.
	time.Sleep(3 * ttl)
	if inst := e.instances(t, svcID); len(inst) != 1 {
		t.Fatalf("after %v with heartbeats: instances = %+v", 3*ttl, inst)
	}
	start := time.Now()
	if err := r.Deregister(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	t.Logf("Deregister took %v", time.Since(start).Round(time.Millisecond))
	if inst := e.instances(t, svcID); len(inst) != 0 {
		t.Fatalf("after Deregister: instances = %+v", inst)
	}
	time.Sleep(600 * time.Millisecond) // no heartbeat re-registers it
	if inst := e.instances(t, svcID); len(inst) != 0 {
		t.Fatalf("re-registered after Deregister: %+v", inst)
	}
}

// TestRegistrarRetries: a first registration that fails (the service does
// not exist yet) is reported and retried by the heartbeats.
func TestRegistrarRetries(t *testing.T) {
	e := startRegistry(t, 0)
	e.node(t, "blue", cloudMap("blue", nil))
	id, _ := sidecar.NewIdentity("m", sidecar.KindVirtualNode, "blue")
	r := sidecar.NewCloudMapRegistrar(sidecar.RegistryOptions{APIEndpoint: e.endpoint, InstanceID: "blue-1",
		InstanceIP: "10.0.0.5", HeartbeatInterval: 100 * time.Millisecond}, "", nil)
	if err := r.Register(context.Background(), id); err == nil {
		t.Fatal("Register succeeded without a service")
	}
	defer r.Deregister(context.Background(), id)
	svcID := e.createService(t, "blue")
	waitFor(t, 3*time.Second, "registered by a heartbeat", func() bool { return len(e.instances(t, svcID)) == 1 })
	if got := e.instances(t, svcID)[0].Attributes["AWS_INSTANCE_IPV4"]; got != "10.0.0.5" {
		t.Errorf("AWS_INSTANCE_IPV4 = %q", got)
	}
}

// TestRegistrarNotCloudMap: a DNS-discovered node registers nothing; an
// unreachable API is an error, not a crash, and Deregister is bounded.
func TestRegistrarNotCloudMap(t *testing.T) {
	e := startRegistry(t, 0)
	svcID := e.createService(t, "blue")
	e.node(t, "dns", &amtypes.ServiceDiscoveryMemberDns{Value: amtypes.DnsServiceDiscovery{Hostname: aws.String("blue.local")}})
	id, _ := sidecar.NewIdentity("m", sidecar.KindVirtualNode, "dns")
	r := sidecar.NewCloudMapRegistrar(sidecar.RegistryOptions{APIEndpoint: e.endpoint, InstanceIP: "10.0.0.5"}, "", nil)
	if err := r.Register(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	if err := r.Deregister(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	if inst := e.instances(t, svcID); len(inst) != 0 {
		t.Fatalf("instances = %+v", inst)
	}

	down := sidecar.NewCloudMapRegistrar(sidecar.RegistryOptions{APIEndpoint: "http://127.0.0.1:1", InstanceIP: "10.0.0.5"}, "", nil)
	if err := down.Register(context.Background(), id); err == nil {
		t.Error("Register against a closed port succeeded")
	}
	start := time.Now()
	if err := down.Deregister(context.Background(), id); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		t.Error(err)
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("Deregister took %v", d)
	}
}

// TestRegistrarConfig: flags and environment reach RegistryOptions.
func TestRegistrarConfig(t *testing.T) {
	env := map[string]string{"TRELLIS_API_ENDPOINT": "http://10.0.0.1:9080", "TRELLIS_INSTANCE_ID": "i-1",
		"TRELLIS_HEARTBEAT_INTERVAL": "3"}
	cfg, err := sidecar.Load(sidecar.Source{
		Flags: map[string]string{"mesh": "m", "virtual-node": "blue", "instance-ip": "10.0.0.9"},
		Env:   func(k string) (string, bool) { v, ok := env[k]; return v, ok },
	})
	if err != nil {
		t.Fatal(err)
	}
	want := sidecar.RegistryOptions{APIEndpoint: "http://10.0.0.1:9080", InstanceIP: "10.0.0.9", InstanceID: "i-1", HeartbeatInterval: 3 * time.Second}
	if cfg.Registry != want {
		t.Errorf("Registry = %+v, want %+v", cfg.Registry, want)
	}
	cfg, err = sidecar.Load(sidecar.Source{Flags: map[string]string{"mesh": "m", "virtual-node": "blue"}})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Registry.APIEndpoint != "" || cfg.Registry.HeartbeatInterval != sidecar.DefaultHeartbeatInterval {
		t.Errorf("default Registry = %+v", cfg.Registry)
	}
	if _, err := sidecar.Load(sidecar.Source{Flags: map[string]string{"mesh": "m", "virtual-node": "blue",
		"api-endpoint": "10.0.0.1:9080", "instance-ip": "fe80::1"}}); err == nil {
		t.Error("bad api-endpoint and instance-ip accepted")
	}
	r := sidecar.NewCloudMapRegistrar(sidecar.RegistryOptions{APIEndpoint: "http://x"}, "0.0.0.0", nil)
	if o := r.Options(); o.InstanceID == "" || o.HeartbeatInterval != sidecar.DefaultHeartbeatInterval || o.Region != sidecar.DefaultRegion {
		t.Errorf("defaults = %+v", o)
	}
}
