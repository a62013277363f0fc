package etcdtest

import (
	"context"
	"crypto/tls"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// TB is the part of testing.TB the harness uses, so that programs other
// than tests (benchmarks) can start clusters too.
type TB interface {
	Helper()
	Cleanup(func())
	TempDir() string
	Failed() bool
	Logf(format string, args ...any)
	Fatalf(format string, args ...any)
	Fatal(args ...any)
	Skipf(format string, args ...any)
}

// startTimeout bounds the wait for a cluster (or a restarted member) to
// serve; generous because the test machine is shared and loaded.
const startTimeout = 60 * time.Second

// Binary returns the etcd binary to use, skipping the test when there is
// none, or failing it under TRELLIS_REQUIRE_ETCD=1.
func Binary(t TB) string {
	t.Helper()
	bin := os.Getenv("TRELLIS_ETCD_BIN")
	if bin == "" {
		bin = "etcd"
	}
	path, err := exec.LookPath(bin)
	if err != nil {
		if os.Getenv("TRELLIS_REQUIRE_ETCD") == "1" {
			t.Fatalf("etcd binary %q not found and TRELLIS_REQUIRE_ETCD=1: %v", bin, err)
		}
		t.Skipf("etcd binary %q not found (apt-get install etcd-server); set TRELLIS_REQUIRE_ETCD=1 to fail instead", bin)
	}
	return path
}

// Cluster is a running etcd cluster of separate processes.
type Cluster struct {
	t       TB
	bin     string
	tls     *TLS
	members []*Member
}

// TLS makes the members serve clients over TLS and require a client
// certificate signed by CA (PEM file paths). Peers still talk plaintext.
type TLS struct {
	CA, ServerCert, ServerKey string
	// ClientCert and ClientKey are a client certificate signed by CA.
	ClientCert, ClientKey string
	// Client is what the harness itself connects with.
	Client *tls.Config
}

// Member is one etcd process of a Cluster.
type Member struct {
	Name      string
	ClientURL string
	PeerURL   string
	DataDir   string
	logPath   string
	initial   string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when the current process has exited
}

// Start starts an n-member cluster and waits until it serves writes. It is
// stopped (every member killed, data removed) when the test ends.
func Start(t TB, n int) *Cluster {
	t.Helper()
	return StartTLS(t, n, nil)
}

// StartTLS is Start with client TLS when tc is set.
func StartTLS(t TB, n int, tc *TLS) *Cluster {
	t.Helper()
	c := &Cluster{t: t, bin: Binary(t), tls: tc}
	scheme := "http://"
	if tc != nil {
		scheme = "https://"
	}
	dir := t.TempDir()
	var initial []string
	for i := range n {
		m := &Member{Name: fmt.Sprintf("m%d", i), ClientURL: scheme + freeAddr(t),
			PeerURL: "http://" + freeAddr(t), DataDir: filepath.Join(dir, fmt.Sprintf("m%d.etcd", i)),
			logPath: filepath.Join(dir, fmt.Sprintf("m%d.log", i))}
		c.members = append(c.members, m)
		initial = append(initial, m.Name+"="+m.PeerURL)
	}
	t.Cleanup(c.stopAll)
	for _, m := range c.members {
		m.initial = strings.Join(initial, ",")
		if err := c.spawn(m); err != nil {
			t.Fatalf("etcdtest: start %s: %v", m.Name, err)
		}
	}
	c.WaitHealthy(t)
	return c
}

// spawn starts m's process (a new cluster member, or a restart on its data).
func (c *Cluster) spawn(m *Member) error {
	logf, err := os.OpenFile(m.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("open log: %w", err)
	}
	cmd := exec.Command(c.bin,
		"--name", m.Name, "--data-dir", m.DataDir,
		"--listen-client-urls", m.ClientURL, "--advertise-client-urls", m.ClientURL,
		"--listen-peer-urls", m.PeerURL, "--initial-advertise-peer-urls", m.PeerURL,
		"--initial-cluster", m.initial, "--initial-cluster-state", "new",
		"--initial-cluster-token", "trellis-test",
		"--logger", "zap", "--log-outputs", "stderr")
	if tc := c.tls; tc != nil {
		cmd.Args = append(cmd.Args, "--cert-file", tc.ServerCert, "--key-file", tc.ServerKey,
			"--client-cert-auth", "--trusted-ca-file", tc.CA)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = append(os.Environ(), "ETCD_UNSUPPORTED_ARCH="+os.Getenv("ETCD_UNSUPPORTED_ARCH"))
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("exec %s: %w", c.bin, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		logf.Close()
		close(done)
	}()
	m.mu.Lock()
	m.cmd, m.done = cmd, done
	m.mu.Unlock()
	return nil
}

// Endpoints returns every member's client URL.
func (c *Cluster) Endpoints() []string {
	eps := make([]string, len(c.members))
	for i, m := range c.members {
		eps[i] = m.ClientURL
	}
	return eps
}

func (c *Cluster) clientTLS() *tls.Config {
	if c.tls == nil {
		return nil
	}
	return c.tls.Client
}

// Members returns the members in start order.
func (c *Cluster) Members() []*Member { return c.members }

// Client returns a client of every member, closed when the test ends.
func (c *Cluster) Client(t TB) *clientv3.Client {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: c.Endpoints(), DialTimeout: 5 * time.Second, TLS: c.clientTLS(),
		DialKeepAliveTime: time.Second, DialKeepAliveTimeout: time.Second, Logger: quietLogger()})
	if err != nil {
		t.Fatalf("etcdtest: client: %v", err)
	}
	t.Cleanup(func() { _ = cli.Close() })
	return cli
}

// WaitHealthy waits until a write through the cluster succeeds and every
// running member reports a leader.
func (c *Cluster) WaitHealthy(t TB) {
	t.Helper()
	deadline := time.Now().Add(startTimeout)
	var last error
	for time.Now().Before(deadline) {
		if last = c.healthy(); last == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	c.dumpLogs(t)
	t.Fatalf("etcdtest: cluster not healthy within %v: %v", startTimeout, last)
}

func (c *Cluster) healthy() error {
	cli, err := clientv3.New(clientv3.Config{Endpoints: c.Endpoints(), DialTimeout: 2 * time.Second, TLS: c.clientTLS(), Logger: quietLogger()})
	if err != nil {
		return err
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if _, err := cli.Put(ctx, "etcdtest/health", "ok"); err != nil {
		return err
	}
	for _, m := range c.members {
		if !m.Running() {
			continue
		}
		st, err := cli.Status(ctx, m.ClientURL)
		if err != nil {
			return fmt.Errorf("%s: %w", m.Name, err)
		}
		if st.Leader == 0 {
			return fmt.Errorf("%s: no leader", m.Name)
		}
	}
	return nil
}

// Leader returns the index of the current leader.
func (c *Cluster) Leader(t TB) int {
	t.Helper()
	cli := c.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i, m := range c.members {
		if !m.Running() {
			continue
		}
		st, err := cli.Status(ctx, m.ClientURL)
		if err != nil {
			continue
		}
		if st.Header.MemberId == st.Leader {
			return i
		}
	}
	t.Fatal("etcdtest: no member is leader")
	return -1
}

// Kill sends SIGKILL to member i and waits until it exited.
func (c *Cluster) Kill(t TB, i int) {
	t.Helper()
	m := c.members[i]
	m.mu.Lock()
	cmd, done := m.cmd, m.done
	m.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill()
	<-done
}

// Stop sends SIGSTOP to member i (it freezes, sockets stay open).
func (c *Cluster) Stop(t TB, i int) { c.signal(t, i, syscall.SIGSTOP) }

// Cont sends SIGCONT to member i.
func (c *Cluster) Cont(t TB, i int) { c.signal(t, i, syscall.SIGCONT) }

func (c *Cluster) signal(t TB, i int, sig syscall.Signal) {
	t.Helper()
	m := c.members[i]
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cmd == nil || m.cmd.Process == nil {
		t.Fatalf("etcdtest: %s is not running", m.Name)
	}
	if err := m.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("etcdtest: signal %v to %s: %v", sig, m.Name, err)
	}
}

// Restart starts member i again on its data dir (after Kill) and waits
// until the cluster is healthy.
func (c *Cluster) Restart(t TB, i int) {
	t.Helper()
	if c.members[i].Running() {
		t.Fatalf("etcdtest: restart %s: still running", c.members[i].Name)
	}
	if err := c.spawn(c.members[i]); err != nil {
		t.Fatalf("etcdtest: restart %s: %v", c.members[i].Name, err)
	}
	c.WaitHealthy(t)
}

// Running reports whether the member's process is alive (stopped counts).
func (m *Member) Running() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.done == nil {
		return false
	}
	select {
	case <-m.done:
		return false
	default:
		return true
	}
}

// stopAll kills every member (continuing stopped ones first) and waits.
func (c *Cluster) stopAll() {
	if c.t.Failed() {
		c.dumpLogs(c.t)
	}
	for _, m := range c.members {
		m.mu.Lock()
		cmd, done := m.cmd, m.done
		m.mu.Unlock()
		if cmd == nil {
			continue
		}
		_ = cmd.Process.Signal(syscall.SIGCONT)
		_ = cmd.Process.Kill()
		<-done
	}
}

// dumpLogs logs the tail of every member's log.
func (c *Cluster) dumpLogs(t TB) {
	for _, m := range c.members {
		b, err := os.ReadFile(m.logPath)
		if err != nil {
			continue
		}
		if len(b) > 4000 {
			b = b[len(b)-4000:]
		}
		t.Logf("etcd %s log tail:\n%s", m.Name, b)
	}
}
