package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
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
)

// failoverChildEnv selects the child mode of TestSidecarFailover: the
// child serves a control plane from the data dir the variable names.
const failoverChildEnv = "TRELLIS_E2E_FAILOVER_CHILD"

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
		runFailoverChild(dir)
		return
	}
	envoyBinary(t)
	blueIP, greenIP, frontIP := loopbackIP(), loopbackIP(), loopbackIP()
	startApp(t, "blue", blueIP, colorPort)
	startApp(t, "green", greenIP, colorPort)
	reps := []*replica{startReplica(t), startReplica(t)}
	for _, r := range reps {
		buildColor(t, r.cp, blueIP, greenIP)
	}
	node := "mesh/color/virtualNode/front"
	front := startEnvoy(t, nil, proxyConfig{NodeID: node, IP: frontIP, XDSAddrs: []string{reps[0].xds, reps[1].xds}})
	_ = front
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
	// The surviving replica now configures Envoy: a change there shows.
	live.cp.updateRoute(t, "color", "color-router", "color-route", prefixRoute("/", weighted(wt("green", 100))))
	eventually(t, 20*time.Second, c.expectBody(addr, "color.local", "/", nil, "green"))
	converged := time.Since(killed)
	time.Sleep(time.Second)
	cancel()
	time.Sleep(200 * time.Millisecond) // let in-flight requests of the load finish counting
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

// startReplica re-executes the test binary as a control-plane child.
func startReplica(t *testing.T) *replica {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestSidecarFailover$", "-test.count=1")
	cmd.Env = append(os.Environ(), failoverChildEnv+"="+t.TempDir())
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
func runFailoverChild(dir string) {
	s, err := server.Start(server.Config{
		DataDir: dir, APIAddr: "127.0.0.1:0", XDSAddr: "127.0.0.1:0",
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
