package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/appmesh"
	"github.com/aws/aws-sdk-go-v2/service/appmesh/types"

	"github.com/trellis-mesh/trellis/internal/server"
	"github.com/trellis-mesh/trellis/internal/store/etcd/etcdtest"
)

// replicaChildEnv, set to etcd endpoints, makes the test binary a Trellis
// replica on them (TestReplicaKillKeepsTraffic's child).
const replicaChildEnv = "TRELLIS_E2E_REPLICA_ETCD"

func replicaStore(endpoints []string) server.StoreConfig {
	return server.StoreConfig{Kind: server.StoreEtcd, EtcdEndpoints: endpoints,
		EtcdPrefix: "/e2e-replicas/", ElectionTTL: 2 * time.Second}
}

// runReplicaChild serves as a replica, reports its addresses and blocks
// until it is killed.
func runReplicaChild(endpoints string) {
	dir, _ := os.MkdirTemp("", "trellis-replica-")
	s, err := server.Start(server.Config{DataDir: dir, APIAddr: "127.0.0.1:0", XDSAddr: "127.0.0.1:0",
		Region: "us-west-2", AccountID: "123456789012", Logger: slog.New(slog.DiscardHandler),
		Store: replicaStore(strings.Split(endpoints, ","))})
	if err != nil {
		fmt.Fprintln(os.Stderr, "replica child:", err)
		os.Exit(2)
	}
	fmt.Printf("REPLICA %s %s\n", s.Addr(), s.XDSAddr())
	select {}
}

// startReplicaChild starts a replica process and returns a client of its
// API, its xDS address, and kill (SIGKILL and reap; also on cleanup).
func startReplicaChild(t *testing.T, endpoints []string) (*cp, string, func()) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestReplicaKillKeepsTraffic$", "-test.count=1")
	cmd.Env = append(os.Environ(), replicaChildEnv+"="+strings.Join(endpoints, ","))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start replica child: %v", err)
	}
	kill := sync.OnceFunc(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	t.Cleanup(kill)
	addrs := make(chan []string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if f := strings.Fields(sc.Text()); len(f) == 3 && f[0] == "REPLICA" {
				addrs <- f[1:]
				break
			}
		}
		_, _ = io.Copy(io.Discard, out)
	}()
	select {
	case a := <-addrs:
		client := appmesh.New(appmesh.Options{Region: "us-west-2", BaseEndpoint: aws.String("http://" + a[0]),
			Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", "")})
		return &cp{client: client, ctx: context.Background()}, a[1], kill
	case <-time.After(30 * time.Second):
		t.Fatal("replica child did not report its addresses within 30s")
	}
	return nil, "", nil
}

// TestReplicaKillKeepsTraffic: two replicas on a 3-member etcd cluster,
// a real Envoy on each (Envoy A also knows replica B). The mesh is written
// through replica A; then A is killed with SIGKILL while both Envoys carry
// traffic. Envoy A keeps serving from its last configuration and fails
// over to replica B, Envoy B keeps getting updates, and no request fails.
func TestReplicaKillKeepsTraffic(t *testing.T) {
	if eps := os.Getenv(replicaChildEnv); eps != "" {
		runReplicaChild(eps)
		return
	}
	if testing.Short() {
		t.Skip("10 s load test")
	}
	envoyBinary(t)
	etcd := etcdtest.Start(t, 3)
	b := startTrellisWith(t, server.Config{Store: replicaStore(etcd.Endpoints())}, nil)
	a, xdsA, killA := startReplicaChild(t, etcd.Endpoints())

	blueIP, greenIP, ipA, ipB := loopbackIP(), loopbackIP(), loopbackIP(), loopbackIP()
	startApp(t, "blue", blueIP, colorPort)
	startApp(t, "green", greenIP, colorPort)
	a.mesh(t, "color", "")
	a.node(t, "color", "blue", nodeSpec(blueIP, colorPort, types.PortProtocolHttp))
	a.node(t, "color", "green", nodeSpec(greenIP, colorPort, types.PortProtocolHttp))
	a.node(t, "color", "front", nodeSpec("", 0, "", "color.local"))
	a.router(t, "color", "color-router", colorPort, types.PortProtocolHttp)
	a.route(t, "color", "color-router", "color-route", prefixRoute("/", weighted(wt("blue", 50), wt("green", 50))))
	a.serviceByRouter(t, "color", "color.local", "color-router")
	// Envoy A knows both replicas (A first), Envoy B only replica B.
	startEnvoy(t, b, proxyConfig{NodeID: "mesh/color/virtualNode/front", IP: ipA, XDSAddrs: []string{xdsA, b.srv.XDSAddr()}})
	startEnvoy(t, b, proxyConfig{NodeID: "mesh/color/virtualNode/front", IP: ipB})
	frontA, frontB := fmt.Sprintf("%s:%d", ipA, colorPort), fmt.Sprintf("%s:%d", ipB, colorPort)
	c := newClient()
	eventually(t, 10*time.Second, c.expectEach(frontA, "color.local", "/", "blue", "green"))
	eventually(t, 10*time.Second, c.expectEach(frontB, "color.local", "/", "blue", "green"))

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	loadA := runLoad(ctx, c, frontA, "color.local", 100, 5)
	loadB := runLoad(ctx, c, frontB, "color.local", 100, 5)
	time.Sleep(2 * time.Second)
	killA()
	killed := time.Now()
	b.updateRoute(t, "color", "color-router", "color-route", prefixRoute("/", weighted(wt("green", 100))))
	eventually(t, 10*time.Second, c.expectBody(frontB, "color.local", "/", nil, "green"))
	convergedB := time.Since(killed)
	eventually(t, 20*time.Second, c.expectBody(frontA, "color.local", "/", nil, "green"))
	convergedA := time.Since(killed)
	<-ctx.Done()
	loadA.wait()
	loadB.wait()
	for _, l := range []struct {
		name string
		l    *load
	}{{"Envoy of the killed replica", loadA}, {"Envoy of the surviving replica", loadB}} {
		ok, failed := l.l.ok.Load(), l.l.failed.Load()
		t.Logf("%s: %d requests succeeded, %d failed", l.name, ok, failed)
		if failed != 0 {
			l.l.mu.Lock()
			t.Errorf("%s: %d requests failed: %v", l.name, failed, l.l.failures)
			l.l.mu.Unlock()
		}
	}
	t.Logf("after kill -9 of replica A, an update through replica B reached Envoy B in %v, and Envoy A (failed over to B) in %v",
		convergedB.Round(time.Millisecond), convergedA.Round(time.Millisecond))
}
