package e2e

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/appmesh/types"
	sd "github.com/aws/aws-sdk-go-v2/service/servicediscovery"

	"github.com/trellis-mesh/trellis/internal/sidecar"
)

// rolloverAppPort is where each blue app listens, next to its sidecar's
// ingress listener on colorPort at the same address.
const rolloverAppPort = 19080

// startRegisteringSidecar runs sidecar.Run for instance id of a virtual
// node on ip, registering itself in the registry at the server's API.
// A non-empty arn names the node through APPMESH_RESOURCE_ARN instead of
// flags. Instances of one node share its node id; each still gets
// listeners on its own address because the server keys snapshots by node
// id plus the proxy's shape metadata.
func startRegisteringSidecar(t *testing.T, c *cp, mesh, node, arn, id, ip string) *sidecarRun {
	t.Helper()
	flags := map[string]string{
		"xds-address": c.srv.XDSAddr(), "envoy-path": envoyBinary(t),
		"interception": "none", "ingress-address": ip, "egress-address": ip, "app-address": ip,
		"app-ports":  fmt.Sprintf("%d:%d", colorPort, rolloverAppPort),
		"admin-port": strconv.Itoa(freePort(t, "127.0.0.1")), "agent-addr": "127.0.0.1:" + strconv.Itoa(freePort(t, "127.0.0.1")),
		"envoy-log-level": "warn", "concurrency": "1", "drain-time": "5",
		"api-endpoint": "http://" + c.srv.Addr(), "instance-id": id, "heartbeat-interval": "1s",
	}
	env := func(string) (string, bool) { return "", false } // hermetic
	if arn != "" {
		env = func(k string) (string, bool) { return arn, k == "APPMESH_RESOURCE_ARN" }
	} else {
		flags["mesh"], flags["virtual-node"] = mesh, node
	}
	cfg, err := sidecar.Load(sidecar.Source{Flags: flags, Env: env})
	if err != nil {
		t.Fatal(err)
	}
	s := &sidecarRun{cfg: cfg, agent: "http://" + cfg.AgentAddr, done: make(chan error, 1), log: newLogBuffer()}
	var w io.Writer = s.log
	if os.Getenv("TRELLIS_E2E_LOG") != "" {
		w = os.Stderr
	}
	s.cfg.Logger = slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug})).With("instance", id)
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	go func() { s.done <- sidecar.Run(ctx, s.cfg) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-s.done:
			s.done <- err
		case <-time.After(s.cfg.Envoy.DrainTime + 10*time.Second):
			t.Error("sidecar did not stop")
		}
		if t.Failed() {
			t.Logf("sidecar %s log:\n%s", id, s.log.String())
		}
	})
	return s
}

// TestRollover replaces one of two Cloud Map-registered instances under
// load: its sidecar is cancelled (the SIGTERM path: deregister, drain,
// exit) and no request fails.
func TestRollover(t *testing.T) {
	if testing.Short() {
		t.Skip("load test")
	}
	envoyBinary(t)
	c, reg := startTrellisTTL(t, 0)
	ctx := c.ctx
	op := must[*sd.CreateHttpNamespaceOutput](t)(reg.CreateHttpNamespace(ctx, &sd.CreateHttpNamespaceInput{Name: aws.String("apps.local")}))
	nsID := must[*sd.GetOperationOutput](t)(reg.GetOperation(ctx, &sd.GetOperationInput{OperationId: op.OperationId})).Operation.Targets["NAMESPACE"]
	svcID := must[*sd.CreateServiceOutput](t)(reg.CreateService(ctx, &sd.CreateServiceInput{Name: aws.String("blue"), NamespaceId: aws.String(nsID)})).Service.Id

	c.mesh(t, "roll", "")
	c.node(t, "roll", "blue", &types.VirtualNodeSpec{
		Listeners: []types.Listener{{PortMapping: &types.PortMapping{Port: aws.Int32(colorPort), Protocol: types.PortProtocolHttp}}},
		ServiceDiscovery: &types.ServiceDiscoveryMemberAwsCloudMap{Value: types.AwsCloudMapServiceDiscovery{
			NamespaceName: aws.String("apps.local"), ServiceName: aws.String("blue")}},
	})
	c.node(t, "roll", "front", nodeSpec("", 0, "", "blue.local"))
	c.serviceByNode(t, "roll", "blue.local", "blue")

	var apps [2]*app
	var cars [2]*sidecarRun
	for i := range apps {
		ip := loopbackIP()
		apps[i] = startApp(t, fmt.Sprintf("blue-%d", i+1), ip, rolloverAppPort)
		cars[i] = startRegisteringSidecar(t, c, "roll", "blue", "", fmt.Sprintf("blue-%d", i+1), ip)
	}
	frontIP := loopbackIP()
	startEnvoy(t, c, proxyConfig{NodeID: "mesh/roll/virtualNode/front", IP: frontIP})
	frontAddr := fmt.Sprintf("%s:%d", frontIP, colorPort)
	cl := newClient()

	eventually(t, 30*time.Second, func() error {
		out, err := reg.ListInstances(ctx, &sd.ListInstancesInput{ServiceId: svcID})
		if err != nil {
			return err
		}
		if len(out.Instances) != 2 {
			return fmt.Errorf("%d instances registered, want 2", len(out.Instances))
		}
		return nil
	})
	eventually(t, 20*time.Second, func() error {
		for range 20 {
			cl.get(frontAddr, "blue.local", "/", nil)
		}
		if apps[0].hits.Load() == 0 || apps[1].hits.Load() == 0 {
			return fmt.Errorf("hits: blue-1 %d, blue-2 %d", apps[0].hits.Load(), apps[1].hits.Load())
		}
		return nil
	})

	const (
		duration    = 8 * time.Second
		cancelAfter = 2 * time.Second
		settle      = time.Second // after the cancel: EDS has removed blue-1 everywhere
		rps         = 250
	)
	loadCtx, stopLoad := context.WithTimeout(context.Background(), duration)
	defer stopLoad()
	start := time.Now()
	l := runLoad(loadCtx, cl, frontAddr, "blue.local", rps, 10)
	time.Sleep(cancelAfter)

	hits1AtCancel, hits2AtCancel := apps[0].hits.Load(), apps[1].hits.Load()
	cancelled := time.Now()
	cars[0].cancel()
	stopped := make(chan time.Duration, 1)
	go func() {
		err := <-cars[0].done
		cars[0].done <- err
		if err != nil {
			t.Errorf("sidecar blue-1: Run = %v", err)
		}
		stopped <- time.Since(cancelled)
	}()
	// When did blue-1 stop getting new requests?
	var lastHitAt time.Duration
	for last := apps[0].hits.Load(); time.Since(cancelled) < settle; time.Sleep(5 * time.Millisecond) {
		if n := apps[0].hits.Load(); n != last {
			last, lastHitAt = n, time.Since(cancelled)
		}
	}
	hits1Settled, hits2Settled := apps[0].hits.Load(), apps[1].hits.Load()

	<-loadCtx.Done()
	l.wait()
	elapsed := time.Since(start)
	hits1End, hits2End := apps[0].hits.Load(), apps[1].hits.Load()
	ok, failed := l.ok.Load(), l.failed.Load()
	rate := float64(ok+failed) / elapsed.Seconds()
	t.Logf("rollover under %.0f rps for %v: %d requests succeeded, %d failed", rate, elapsed.Round(time.Millisecond), ok, failed)
	t.Logf("blue-1 (cancelled at +%v): %d hits before the cancel, %d more in the %v after it (last %v after the cancel), %d after that",
		cancelAfter, hits1AtCancel, hits1Settled-hits1AtCancel, settle, lastHitAt.Round(time.Millisecond), hits1End-hits1Settled)
	t.Logf("blue-2: %d hits before the cancel, %d after", hits2AtCancel, hits2End-hits2AtCancel)
	select {
	case d := <-stopped:
		t.Logf("blue-1 sidecar stopped %v after the cancel (drain time %v)", d.Round(time.Millisecond), cars[0].cfg.Envoy.DrainTime)
	case <-time.After(cars[0].cfg.Envoy.DrainTime + 5*time.Second):
		t.Errorf("blue-1 sidecar did not stop within drain time + 5 s")
	}

	if rate < 200 {
		t.Errorf("load generator reached only %.0f rps, want >= 200", rate)
	}
	if failed != 0 {
		l.mu.Lock()
		t.Errorf("%d requests failed during the rollover: %v", failed, l.failures)
		l.mu.Unlock()
	}
	if hits2End-hits2Settled < int64(rate*(duration-cancelAfter-settle).Seconds()/2) {
		t.Errorf("blue-2 served only %d requests after the rollover settled", hits2End-hits2Settled)
	}
	if hits1End != hits1Settled {
		t.Errorf("blue-1 still got %d new requests more than %v after its sidecar was cancelled", hits1End-hits1Settled, settle)
	}
	out := must[*sd.ListInstancesOutput](t)(reg.ListInstances(ctx, &sd.ListInstancesInput{ServiceId: svcID}))
	if len(out.Instances) != 1 || aws.ToString(out.Instances[0].Id) != "blue-2" {
		t.Errorf("registered instances after the rollover = %+v, want blue-2 only", out.Instances)
	}
}
