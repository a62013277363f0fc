package e2e

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/appmesh"
	"github.com/aws/aws-sdk-go-v2/service/appmesh/types"
	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	caresv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/network/dns_resolver/cares/v3"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/trellis-mesh/trellis/internal/server"
	"github.com/trellis-mesh/trellis/internal/xdsgen/bootstrap"
	"github.com/trellis-mesh/trellis/internal/xdsserver"
)

// failoverChildEnv selects the child mode of the failover tests: the
// child serves a control plane from the data dir the variable names, with
// xDS on the address failoverXDSEnv names (a free loopback port if empty).
const (
	failoverChildEnv = "TRELLIS_E2E_FAILOVER_CHILD"
	failoverXDSEnv   = "TRELLIS_E2E_FAILOVER_XDS"
)

// replica is a control plane in a child process, so it can be SIGKILLed.
type replica struct {
	api, xds string
	kill     func()
	cp       *cp
}

// TestSidecarFailover: one Envoy is given two control-plane replicas
// (separate processes, each with its own store holding the same mesh).
// The replica it is connected to is killed with SIGKILL under steady
// traffic. No request fails, Envoy reconnects to the other replica, and a
// change made there reaches it.
func TestSidecarFailover(t *testing.T) {
	if dir := os.Getenv(failoverChildEnv); dir != "" {
		runFailoverChild(dir, os.Getenv(failoverXDSEnv))
		return
	}
	envoyBinary(t)
	reps := []*replica{startReplica(t, ""), startReplica(t, "")}
	testFailover(t, reps, func(pc *proxyConfig) { pc.XDSAddrs = []string{reps[0].xds, reps[1].xds} })
}

// TestSidecarFailoverDNS: the same, with Envoy given one DNS name that
// resolves to both replicas (a test DNS server answers for it), as a
// headless Kubernetes Service would.
func TestSidecarFailoverDNS(t *testing.T) {
	if dir := os.Getenv(failoverChildEnv); dir != "" {
		runFailoverChild(dir, os.Getenv(failoverXDSEnv))
		return
	}
	envoyBinary(t)
	ipA, ipB := loopbackIP(), loopbackIP()
	port := freePortOnBoth(t, ipA, ipB)
	reps := []*replica{startReplica(t, net.JoinHostPort(ipA, port)), startReplica(t, net.JoinHostPort(ipB, port))}
	const name = "trellis-xds.failover.test"
	dns := startDNS(t, name, []string{ipA, ipB})
	testFailover(t, reps, func(pc *proxyConfig) {
		pc.XDSAddrs = []string{net.JoinHostPort(name, port)}
		pc.Bootstrap = func(b *bootstrapv3.Bootstrap) { useResolver(t, b, dns) }
	})
}

// testFailover builds the same mesh on every replica, starts one Envoy
// that can reach them all (as setup configures it), kills the replica
// it is connected to under load and checks that it moves to another
// without a failed request.
func testFailover(t *testing.T, reps []*replica, setup func(*proxyConfig)) {
	t.Helper()
	blueIP, greenIP, frontIP := loopbackIP(), loopbackIP(), loopbackIP()
	startApp(t, "blue", blueIP, colorPort)
	startApp(t, "green", greenIP, colorPort)
	for _, r := range reps {
		buildColor(t, r.cp, blueIP, greenIP)
	}
	node := "mesh/color/virtualNode/front"
	pc := proxyConfig{NodeID: node, IP: frontIP}
	setup(&pc)
	front := startEnvoy(t, nil, pc)
	for _, r := range reps {
		eventually(t, 10*time.Second, func() error { return front.hasXDSHost(r.xds) })
	}
	addr := fmt.Sprintf("%s:%d", frontIP, colorPort)
	c := newClient()
	eventually(t, 20*time.Second, c.expectBody(addr, "color.local", "/", nil, "blue"))

	var dead, live *replica
	eventually(t, 10*time.Second, func() error {
		for i, r := range reps {
			if connected(r.api, node) {
				dead, live = r, reps[1-i]
				return nil
			}
		}
		return fmt.Errorf("no replica reports %s connected", node)
	})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	l := runLoad(ctx, c, addr, "color.local", 200, 4)
	time.Sleep(time.Second)
	killed := time.Now()
	dead.kill()
	eventually(t, 60*time.Second, func() error {
		if !connected(live.api, node) {
			return fmt.Errorf("envoy has not reconnected to the surviving replica")
		}
		return nil
	})
	reconnect := time.Since(killed)
	// The surviving replica now configures Envoy: a change there shows,
	// even one that moves all the weight (blue's cluster goes, green's
	// comes): the survivor publishes it make before break. It can do so
	// once it has configured Envoy itself: before, it cannot know the
	// clusters Envoy holds from the dead replica (docs/fleet.md).
	eventually(t, 20*time.Second, func() error { return synced(live.api, node) })
	live.cp.updateRoute(t, "color", "color-router", "color-route", prefixRoute("/", weighted(wt("green", 100))))
	eventually(t, 20*time.Second, c.expectBody(addr, "color.local", "/", nil, "green"))
	converged := time.Since(killed)
	time.Sleep(time.Second)
	cancel()
	l.wait()
	t.Logf("replica killed: envoy reconnected to the other in %v; new config from it served %v after the kill; requests ok %d, failed %d",
		reconnect.Round(time.Millisecond), converged.Round(time.Millisecond), l.ok.Load(), l.failed.Load())
	if n := l.failed.Load(); n != 0 {
		l.mu.Lock()
		t.Errorf("%d requests failed during failover: %v", n, l.failures)
		l.mu.Unlock()
	}
	if l.ok.Load() == 0 {
		t.Error("no request succeeded")
	}
	// Every request counts, the polls for green's body included.
	if n := sumStats(front.statsMatching(`^http\.[^.]+\.no_cluster$`)); n != 0 {
		t.Errorf("front answered %d requests with no cluster (503 NC)", n)
	}
}

// hasXDSHost checks that Envoy's xds_cluster holds a host at addr (so a
// DNS name really resolved to every replica).
func (e *envoyProc) hasXDSHost(addr string) error {
	resp, err := http.Get(e.admin + "/clusters")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if !strings.Contains(string(b), bootstrap.XDSCluster+"::"+addr+"::") {
		return fmt.Errorf("xds_cluster has no host %s", addr)
	}
	return nil
}

// buildColor creates the color mesh (all traffic to blue) on c.
func buildColor(t *testing.T, c *cp, blueIP, greenIP string) {
	t.Helper()
	c.mesh(t, "color", "")
	c.node(t, "color", "blue", nodeSpec(blueIP, colorPort, types.PortProtocolHttp))
	c.node(t, "color", "green", nodeSpec(greenIP, colorPort, types.PortProtocolHttp))
	c.node(t, "color", "front", nodeSpec("", 0, "", "color.local"))
	c.router(t, "color", "color-router", colorPort, types.PortProtocolHttp)
	c.route(t, "color", "color-router", "color-route", prefixRoute("/", weighted(wt("blue", 100))))
	c.serviceByRouter(t, "color", "color.local", "color-router")
}

// connected reports whether the replica at api serves an xDS stream to node.
func connected(api, node string) bool {
	resp, err := http.Get("http://" + api + "/debug/xds?node=" + node)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	var st []json.RawMessage
	return json.NewDecoder(resp.Body).Decode(&st) == nil && len(st) > 0
}

// synced reports, as an eventually-condition, whether the replica at api
// has a snapshot for node and every type it sent the node's stream is
// acknowledged at the snapshot's version.
func synced(api, node string) error {
	resp, err := http.Get("http://" + api + "/debug/xds?node=" + node)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var st []xdsserver.NodeStatus
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return err
	}
	// Envoy names the version it holds: when the survivor's snapshot has
	// the same, nothing needs sending and Types stays empty.
	if len(st) != 1 || st[0].DesiredVersion == "" {
		return fmt.Errorf("%s: streams %+v, want one with a snapshot", node, st)
	}
	for typ, ts := range st[0].Types {
		if ts.DesiredVersion == "" || ts.AckedVersion != ts.DesiredVersion {
			return fmt.Errorf("%s %s: acked %q, desired %q", node, typ, ts.AckedVersion, ts.DesiredVersion)
		}
	}
	return nil
}

// startReplica re-executes the test binary as a control-plane child with
// xDS on xdsAddr (a free port when empty).
func startReplica(t *testing.T, xdsAddr string) *replica {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestSidecarFailover$", "-test.count=1")
	cmd.Env = append(os.Environ(), failoverChildEnv+"="+t.TempDir(), failoverXDSEnv+"="+xdsAddr)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	kill := sync.OnceFunc(func() {
		_ = cmd.Process.Kill() // SIGKILL
		_ = cmd.Wait()
	})
	t.Cleanup(kill)
	line, err := bufio.NewReader(out).ReadString('\n')
	go io.Copy(io.Discard, out)
	f := strings.Fields(line)
	if err != nil || len(f) != 3 || f[0] != "ADDR" {
		t.Fatalf("replica did not report its addresses: %q %v", line, err)
	}
	client := appmesh.New(appmesh.Options{
		Region:       "us-west-2",
		BaseEndpoint: aws.String("http://" + f[1]),
		Credentials:  credentials.NewStaticCredentialsProvider("AKID", "secret", ""),
	})
	return &replica{api: f[1], xds: f[2], kill: kill, cp: &cp{client: client, ctx: context.Background()}}
}

// runFailoverChild serves a control plane until killed.
func runFailoverChild(dir, xdsAddr string) {
	s, err := server.Start(server.Config{
		DataDir: dir, APIAddr: "127.0.0.1:0", XDSAddr: cmp.Or(xdsAddr, "127.0.0.1:0"),
		Region: "us-west-2", AccountID: "123456789012",
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "failover child:", err)
		os.Exit(2)
	}
	fmt.Printf("ADDR %s %s\n", s.Addr(), s.XDSAddr())
	time.Sleep(5 * time.Minute) // the parent kills it long before
	os.Exit(3)
}

// useResolver points the xds_cluster's DNS lookups at the test server.
func useResolver(t *testing.T, b *bootstrapv3.Bootstrap, dnsAddr string) {
	t.Helper()
	host, port, _ := net.SplitHostPort(dnsAddr)
	p, _ := strconv.Atoi(port)
	cfg, err := anypb.New(&caresv3.CaresDnsResolverConfig{Resolvers: []*corev3.Address{{Address: &corev3.Address_SocketAddress{
		SocketAddress: &corev3.SocketAddress{Address: host, Protocol: corev3.SocketAddress_UDP, PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: uint32(p)}},
	}}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range b.GetStaticResources().GetClusters() {
		if c.GetName() == bootstrap.XDSCluster {
			c.TypedDnsResolverConfig = &corev3.TypedExtensionConfig{Name: "envoy.network.dns_resolver.cares", TypedConfig: cfg}
			c.DnsLookupFamily = clusterv3.Cluster_V4_ONLY
		}
	}
}
