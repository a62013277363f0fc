package server_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/appmesh"
	"github.com/aws/aws-sdk-go-v2/service/appmesh/types"
	"go.etcd.io/bbolt"

	"github.com/trellis-mesh/trellis/internal/server"
)

const (
	testRegion  = "us-west-2"
	testAccount = "123456789012"
	testMesh    = "crash-mesh"

	// crashChildEnv selects the child mode of TestCrashLosesNoAcknowledgedWrite;
	// crashDirEnv names the data dir the child serves.
	crashChildEnv = "TRELLIS_CRASH_CHILD"
	crashDirEnv   = "TRELLIS_CRASH_DATA_DIR"

	writers = 8
)

func config(dir string) server.Config {
	return server.Config{
		DataDir:   dir,
		APIAddr:   "127.0.0.1:0",
		Region:    testRegion,
		AccountID: testAccount,
		Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

// startServer starts a server in-process on dir. The returned stop runs
// Stop at most once; it also runs on cleanup if the test did not call it.
func startServer(t *testing.T, dir string) (*server.Server, func() error) {
	t.Helper()
	s, err := server.Start(config(dir))
	if err != nil {
		t.Fatalf("server.Start: %v", err)
	}
	stop := sync.OnceValue(s.Stop)
	t.Cleanup(func() { _ = stop() })
	return s, stop
}

// newClient is the official SDK client for addr with retries disabled, so
// a request that fails when the server goes away is not silently resent.
func newClient(addr string, opts ...func(*appmesh.Options)) *appmesh.Client {
	opts = append(opts, func(o *appmesh.Options) { o.Retryer = aws.NopRetryer{} })
	return appmesh.New(appmesh.Options{
		Region:       testRegion,
		BaseEndpoint: aws.String("http://" + addr),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
	}, opts...)
}

// noKeepAlive gives every request its own connection. Go's transport may
// otherwise park a freshly dialled connection that never carries a request,
// and http.Server.Shutdown waits up to 5s before it treats such a
// connection as idle.
func noKeepAlive(o *appmesh.Options) {
	o.HTTPClient = awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		tr.DisableKeepAlives = true
	})
}

func dnsNode(host string) *types.VirtualNodeSpec {
	return &types.VirtualNodeSpec{
		Listeners:        []types.Listener{{PortMapping: &types.PortMapping{Port: aws.Int32(8080), Protocol: types.PortProtocolHttp}}},
		ServiceDiscovery: &types.ServiceDiscoveryMemberDns{Value: types.DnsServiceDiscovery{Hostname: aws.String(host)}},
	}
}

func mustMesh(t *testing.T, c *appmesh.Client) {
	t.Helper()
	if _, err := c.CreateMesh(t.Context(), &appmesh.CreateMeshInput{MeshName: aws.String(testMesh)}); err != nil {
		t.Fatalf("CreateMesh: %v", err)
	}
}

// runChild is the child side of the crash test: serve dir, report the
// address, and block until SIGKILL.
func runChild(dir string) {
	s, err := server.Start(config(dir))
	if err != nil {
		fmt.Fprintf(os.Stderr, "child: server.Start: %v\n", err)
		os.Exit(2)
	}
	fmt.Printf("ADDR %s\n", s.Addr())
	select {}
}

// startChild re-executes the test binary in child mode on dir and returns
// the child's API address and a kill function (SIGKILL, then reap), which
// also runs on cleanup.
func startChild(t *testing.T, dir string) (addr string, kill func()) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashLosesNoAcknowledgedWrite$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashChildEnv+"=1", crashDirEnv+"="+dir)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start child: %v", err)
	}
	kill = sync.OnceFunc(func() {
		_ = cmd.Process.Kill() // SIGKILL: nothing in the child gets to clean up
		_ = cmd.Wait()
	})
	t.Cleanup(kill)
	addrs := make(chan string, 1)
	go readAddr(stdout, addrs)
	select {
	case a, ok := <-addrs:
		if !ok {
			t.Fatal("child exited before reporting its address")
		}
		return a, kill
	case <-time.After(10 * time.Second):
		t.Fatal("child did not report its address within 10s")
	}
	return "", nil
}

// readAddr sends the address from the child's "ADDR host:port" line (or
// closes addrs if there is none), then drains the rest of its output.
func readAddr(r io.Reader, addrs chan<- string) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if a, ok := strings.CutPrefix(sc.Text(), "ADDR "); ok {
			addrs <- a
			_, _ = io.Copy(io.Discard, r)
			return
		}
	}
	close(addrs)
}

// load drives concurrent writes at a server and records every write the
// server acknowledged. Once down is set (the server is being killed or
// stopped), writers stop and transport failures are expected.
type load struct {
	t      *testing.T
	client *appmesh.Client
	shared []string // nodes the writers update; none means creates only
	down   atomic.Bool

	mu          sync.Mutex
	created     map[string]string // node → uid returned by the create
	updated     map[string]int64  // node → highest acknowledged version
	creates     int
	updates     int
	afterDown   int // writes acknowledged after down was set (drained)
	downErrs    int // transport failures once the server was going down
	apiErrs     int // non-2xx answers
	firstAPIErr error
}

func newLoad(t *testing.T, c *appmesh.Client) *load {
	return &load{t: t, client: c, created: map[string]string{}, updated: map[string]int64{}}
}

// run starts the writers; wait for them with the returned WaitGroup.
func (l *load) run() *sync.WaitGroup {
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() { l.writer(i) })
	}
	return &wg
}

func (l *load) writer(i int) {
	for j := 0; !l.down.Load(); j++ {
		var err error
		if len(l.shared) == 0 || j%2 == 0 {
			err = l.create(fmt.Sprintf("w%d-%d", i, j))
		} else {
			err = l.update(l.shared[(i+j)%len(l.shared)], fmt.Sprintf("w%d-%d.local", i, j))
		}
		if err != nil && l.fail(err) {
			return
		}
	}
}

func (l *load) create(name string) error {
	out, err := l.client.CreateVirtualNode(context.Background(), &appmesh.CreateVirtualNodeInput{
		MeshName: aws.String(testMesh), VirtualNodeName: aws.String(name), Spec: dnsNode(name + ".local"),
	})
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.created[name] = aws.ToString(out.VirtualNode.Metadata.Uid)
	l.creates++
	l.countDrained()
	return nil
}

func (l *load) update(name, host string) error {
	out, err := l.client.UpdateVirtualNode(context.Background(), &appmesh.UpdateVirtualNodeInput{
		MeshName: aws.String(testMesh), VirtualNodeName: aws.String(name), Spec: dnsNode(host),
	})
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.updated[name] = max(l.updated[name], aws.ToInt64(out.VirtualNode.Metadata.Version))
	l.updates++
	l.countDrained()
	return nil
}

func (l *load) countDrained() {
	if l.down.Load() {
		l.afterDown++
	}
}

// fail records a failed write and reports whether the writer should stop:
// it stops on a transport failure (the server is gone), not on an answer.
func (l *load) fail(err error) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	var re *awshttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() != 0 { // the server answered
		l.apiErrs++
		if l.firstAPIErr == nil {
			l.firstAPIErr = err
		}
		return false
	}
	if !l.down.Load() {
		l.t.Errorf("write failed while the server was up: %v", err)
	} else {
		l.downErrs++
	}
	return true
}

// waitForWrites blocks until at least creates creates and updates updates
// were acknowledged. 30 s only bounds a hang on a loaded machine.
func (l *load) waitForWrites(creates, updates int) {
	l.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		l.mu.Lock()
		c, u := l.creates, l.updates
		l.mu.Unlock()
		if c >= creates && u >= updates {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
	l.t.Fatalf("fewer than %d creates and %d updates acknowledged within 30s", creates, updates)
}

// verify checks every acknowledged write against the server behind c.
func (l *load) verify(c *appmesh.Client) {
	l.t.Helper()
	for name, uid := range l.created {
		md := l.describe(c, name)
		if md == nil {
			continue
		}
		if v := aws.ToInt64(md.Version); v < 1 {
			l.t.Errorf("node %s: version %d, want >= 1", name, v)
		}
		if got := aws.ToString(md.Uid); got != uid {
			l.t.Errorf("node %s: uid %s, create returned %s", name, got, uid)
		}
	}
	for name, want := range l.updated {
		if md := l.describe(c, name); md != nil && aws.ToInt64(md.Version) < want {
			l.t.Errorf("node %s: version %d, an update acknowledged version %d", name, aws.ToInt64(md.Version), want)
		}
	}
}

func (l *load) describe(c *appmesh.Client, name string) *types.ResourceMetadata {
	l.t.Helper()
	out, err := c.DescribeVirtualNode(l.t.Context(), &appmesh.DescribeVirtualNodeInput{
		MeshName: aws.String(testMesh), VirtualNodeName: aws.String(name),
	})
	if err != nil {
		l.t.Errorf("acknowledged node %s lost: %v", name, err)
		return nil
	}
	return out.VirtualNode.Metadata
}

// TestCrashLosesNoAcknowledgedWrite SIGKILLs a server process under write
// load: every write the SDK saw succeed must be there after a restart.
func TestCrashLosesNoAcknowledgedWrite(t *testing.T) {
	if os.Getenv(crashChildEnv) == "1" {
		runChild(os.Getenv(crashDirEnv))
	}
	if testing.Short() {
		t.Skip("spawns a child process")
	}
	dir := t.TempDir()
	addr, kill := startChild(t, dir)
	l := newLoad(t, newClient(addr))
	mustMesh(t, l.client)
	l.shared = []string{"shared-0", "shared-1", "shared-2"}
	for _, name := range l.shared {
		if err := l.create(name); err != nil {
			t.Fatalf("CreateVirtualNode %s: %v", name, err)
		}
	}
	wg := l.run()
	// Kill once every writer had a few writes acknowledged, so the kill
	// lands in the middle of a running load however slow the machine.
	l.waitForWrites(len(l.shared)+10*writers, 5*writers)
	l.down.Store(true)
	kill()
	wg.Wait()
	if l.creates <= len(l.shared) || l.updates == 0 {
		t.Fatalf("load too light to test anything: %d creates, %d updates acknowledged", l.creates, l.updates)
	}

	s, _ := startServer(t, dir)
	l.verify(newClient(s.Addr()))
	t.Logf("acknowledged before SIGKILL: %d creates, %d updates (%d nodes updated); "+
		"%d requests failed because of the kill; %d non-2xx answers (first: %v)",
		l.creates, l.updates, len(l.updated), l.downErrs, l.apiErrs, l.firstAPIErr)
}

// TestGracefulShutdown stops a server while creates are in flight: Stop
// drains them, refuses new connections, releases the store, and every
// acknowledged create is in the reopened data dir.
func TestGracefulShutdown(t *testing.T) {
	dir := t.TempDir()
	s, stop := startServer(t, dir)
	l := newLoad(t, newClient(s.Addr(), noKeepAlive))
	mustMesh(t, l.client)
	wg := l.run()
	l.waitForWrites(2*writers, 0)
	l.down.Store(true)
	if err := stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	wg.Wait()
	if conn, err := net.DialTimeout("tcp", s.Addr(), time.Second); err == nil {
		conn.Close()
		t.Errorf("listener %s still accepts connections after Stop", s.Addr())
	}
	if l.apiErrs != 0 {
		t.Errorf("%d creates got a non-2xx answer, first: %v", l.apiErrs, l.firstAPIErr)
	}
	assertUnlocked(t, filepath.Join(dir, "trellis.db"))

	s2, _ := startServer(t, dir)
	l.verify(newClient(s2.Addr()))
	t.Logf("%d creates acknowledged (%d of them completed during Stop); %d requests refused after Stop",
		l.creates, l.afterDown, l.downErrs)
}

// assertUnlocked checks that Stop closed the bbolt file: opening it again
// must get the file lock at once (it blocks while another handle holds it).
func assertUnlocked(t *testing.T, path string) {
	t.Helper()
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second, ReadOnly: true})
	if err != nil {
		t.Fatalf("store still open after Stop: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("close bbolt: %v", err)
	}
}

func TestHealthz(t *testing.T) {
	s, stop := startServer(t, t.TempDir())
	resp, err := http.Get("http://" + s.Addr() + "/healthz")
	if err != nil {
		t.Fatalf("GET /healthz: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("read /healthz body: %v", err)
	}
	if resp.StatusCode != http.StatusOK || string(body) != "ok\n" {
		t.Errorf("GET /healthz = %d %q, want 200 %q", resp.StatusCode, body, "ok\n")
	}
	if err := stop(); err != nil {
		t.Errorf("Stop: %v", err)
	}
}
