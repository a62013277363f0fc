package e2e

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/appmesh/types"
	sd "github.com/aws/aws-sdk-go-v2/service/servicediscovery"
	"github.com/aws/smithy-go/middleware"

	"github.com/trellis-mesh/trellis/internal/registryapi"
	"github.com/trellis-mesh/trellis/internal/server"
)

// startTrellisTTL is startTrellis with a registry instance TTL, plus a
// Cloud Map (servicediscovery) client for the same endpoint.
func startTrellisTTL(t *testing.T, ttl time.Duration) (*cp, *sd.Client) {
	t.Helper()
	c := startTrellisWith(t, server.Config{RegistryTTL: ttl}, nil)
	reg := sd.New(sd.Options{Region: "us-west-2", BaseEndpoint: aws.String("http://" + c.srv.Addr()),
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", ""),
		APIOptions:  []func(*middleware.Stack) error{registryapi.NoHostPrefix}})
	return c, reg
}

// cloudMapNode is a virtual node discovered through Cloud Map service
// apps.local/color with version=<version>.
func cloudMapNode(version string) *types.VirtualNodeSpec {
	return &types.VirtualNodeSpec{
		Listeners: []types.Listener{{PortMapping: &types.PortMapping{Port: aws.Int32(colorPort), Protocol: types.PortProtocolHttp}}},
		ServiceDiscovery: &types.ServiceDiscoveryMemberAwsCloudMap{Value: types.AwsCloudMapServiceDiscovery{
			NamespaceName: aws.String("apps.local"), ServiceName: aws.String("color"),
			Attributes: []types.AwsCloudMapInstanceAttribute{{Key: aws.String("version"), Value: aws.String(version)}}}},
	}
}

// TestCloudMapDiscovery drives the color walkthrough with Cloud Map
// discovery: instances come and go through the servicediscovery API and
// Envoy's EDS follows.
func TestCloudMapDiscovery(t *testing.T) {
	const ttl = 2 * time.Second
	c, reg := startTrellisTTL(t, ttl)
	ctx := c.ctx
	op := must[*sd.CreateHttpNamespaceOutput](t)(reg.CreateHttpNamespace(ctx, &sd.CreateHttpNamespaceInput{Name: aws.String("apps.local")}))
	nsID := must[*sd.GetOperationOutput](t)(reg.GetOperation(ctx, &sd.GetOperationInput{OperationId: op.OperationId})).Operation.Targets["NAMESPACE"]
	svcID := must[*sd.CreateServiceOutput](t)(reg.CreateService(ctx, &sd.CreateServiceInput{Name: aws.String("color"), NamespaceId: aws.String(nsID)})).Service.Id
	register := func(id, ip, version string) {
		t.Helper()
		must[*sd.RegisterInstanceOutput](t)(reg.RegisterInstance(ctx, &sd.RegisterInstanceInput{ServiceId: svcID, InstanceId: aws.String(id),
			Attributes: map[string]string{"AWS_INSTANCE_IPV4": ip, "AWS_INSTANCE_PORT": strconv.Itoa(colorPort), "version": version}}))
	}

	blueIP, greenIP, blue2IP, green2IP, frontIP := loopbackIP(), loopbackIP(), loopbackIP(), loopbackIP(), loopbackIP()
	startApp(t, "blue", blueIP, colorPort)
	startApp(t, "green", greenIP, colorPort)
	blue2 := startApp(t, "blue2", blue2IP, colorPort)
	startApp(t, "green2", green2IP, colorPort)
	c.mesh(t, "color", "")
	c.node(t, "color", "blue", cloudMapNode("blue"))
	c.node(t, "color", "green", cloudMapNode("green"))
	c.node(t, "color", "front", nodeSpec("", 0, "", "color.local"))
	c.router(t, "color", "color-router", colorPort, types.PortProtocolHttp)
	c.route(t, "color", "color-router", "color-route", prefixRoute("/", weighted(wt("blue", 50), wt("green", 50))))
	c.serviceByRouter(t, "color", "color.local", "color-router")

	// Instances heartbeat by re-registering (the TTL is short); each
	// heartbeat returns its stop function.
	heartbeat := func(id, ip, version string) (stop func()) {
		register(id, ip, version)
		hbCtx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			for {
				select {
				case <-hbCtx.Done():
					return
				case <-time.After(ttl / 4):
				}
				reg.RegisterInstance(hbCtx, &sd.RegisterInstanceInput{ServiceId: svcID, InstanceId: aws.String(id),
					Attributes: map[string]string{"AWS_INSTANCE_IPV4": ip, "AWS_INSTANCE_PORT": strconv.Itoa(colorPort), "version": version}})
			}
		}()
		return func() { cancel(); <-done }
	}
	stopBlue, stopGreen := heartbeat("blue-1", blueIP, "blue"), heartbeat("green-1", greenIP, "green")
	t.Cleanup(func() { stopBlue(); stopGreen() })

	startEnvoy(t, c, proxyConfig{NodeID: "mesh/color/virtualNode/front", IP: frontIP})
	cl := newClient()
	frontAddr := fmt.Sprintf("%s:%d", frontIP, colorPort)
	sample := func(n int) map[string]int {
		counts := map[string]int{}
		for range n {
			code, body, err := cl.get(frontAddr, "color.local", "/", nil)
			if err != nil || code != 200 {
				body = fmt.Sprintf("%d %s %v", code, body, err)
			}
			counts[body]++
		}
		return counts
	}
	eventually(t, 10*time.Second, func() error {
		if s := sample(40); s["blue"] == 0 || s["green"] == 0 {
			return fmt.Errorf("want blue and green, got %v", s)
		}
		return nil
	})

	// A second blue instance: measure registration → first request served by it.
	start := time.Now()
	stopBlue2 := heartbeat("blue-2", blue2IP, "blue")
	for blue2.hits.Load() == 0 {
		if time.Since(start) > 10*time.Second {
			t.Fatal("no traffic reached blue-2 within 10s of its registration")
		}
		sample(1)
	}
	t.Logf("RegisterInstance(blue-2) → first request at blue-2: %v", time.Since(start).Round(time.Millisecond))
	if s := sample(200); s["blue2"] == 0 || s["blue"] == 0 || s["green"] == 0 {
		t.Fatalf("expected blue, blue2 and green all served: %v", s)
	}

	// DeregisterInstance removes it (its heartbeat must stop first, or it
	// would re-register).
	stopBlue2()
	start = time.Now()
	must[*sd.DeregisterInstanceOutput](t)(reg.DeregisterInstance(ctx, &sd.DeregisterInstanceInput{ServiceId: svcID, InstanceId: aws.String("blue-2")}))
	eventually(t, 10*time.Second, func() error {
		if s := sample(50); s["blue2"] > 0 {
			return fmt.Errorf("blue-2 still served: %v", s)
		}
		return nil
	})
	t.Logf("DeregisterInstance(blue-2) → out of rotation within %v", time.Since(start).Round(time.Millisecond))
	before := blue2.hits.Load()
	if s := sample(200); s["blue"] == 0 || s["green"] == 0 || blue2.hits.Load() != before {
		t.Fatalf("after deregistration: %v, blue-2 hits %d → %d", s, before, blue2.hits.Load())
	}

	// An instance registered with a lease (trellis.io/ttl, what sidecars
	// send) that never heartbeats expires after the TTL and drops out.
	// Instances registered without one stay, as in Cloud Map.
	start = time.Now()
	must[*sd.RegisterInstanceOutput](t)(reg.RegisterInstance(ctx, &sd.RegisterInstanceInput{ServiceId: svcID, InstanceId: aws.String("green-2"),
		Attributes: map[string]string{"AWS_INSTANCE_IPV4": green2IP, "AWS_INSTANCE_PORT": strconv.Itoa(colorPort), "version": "green",
			"trellis.io/ttl": strconv.Itoa(int(ttl / time.Second))}}))
	eventually(t, 10*time.Second, func() error {
		if s := sample(20); s["green2"] == 0 {
			return fmt.Errorf("green-2 not served yet: %v", s)
		}
		return nil
	})
	eventually(t, 3*ttl+5*time.Second, func() error {
		if s := sample(50); s["green2"] > 0 {
			return fmt.Errorf("green-2 still served: %v", s)
		}
		return nil
	})
	t.Logf("green-2 (TTL %v, no heartbeats) dropped out %v after registering", ttl, time.Since(start).Round(time.Millisecond))
	if _, err := reg.GetInstance(ctx, &sd.GetInstanceInput{ServiceId: svcID, InstanceId: aws.String("green-2")}); err == nil {
		t.Error("expired instance green-2 is still registered")
	}
	if s := sample(100); s["blue"] == 0 || s["green"] == 0 {
		t.Fatalf("heartbeating instances must stay: %v", s)
	}
}
