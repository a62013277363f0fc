package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/appmesh/types"

	"github.com/trellis-mesh/trellis/internal/sidecar"
)

// sidecarRun is a `trellis sidecar` running in-process.
type sidecarRun struct {
	cfg    sidecar.Config
	agent  string // http://host:port of the agent API
	cancel context.CancelFunc
	done   chan error
	log    *syncWriter
}

// startSidecar runs sidecar.Run for a virtual node, configured through
// the same flags the command takes, with no traffic interception and all
// listeners on ip. Flags in extra are added (or override).
func startSidecar(t *testing.T, c *cp, mesh, node, ip string, extra ...map[string]string) *sidecarRun {
	t.Helper()
	return startSidecarEnv(t, c, mesh, node, ip, nil, extra...)
}

// startSidecarEnv is startSidecar with these environment variables (and
// no others) visible to the sidecar.
func startSidecarEnv(t *testing.T, c *cp, mesh, node, ip string, env map[string]string, extra ...map[string]string) *sidecarRun {
	t.Helper()
	flags := map[string]string{
		"mesh": mesh, "virtual-node": node, "xds-address": c.srv.XDSAddr(), "envoy-path": envoyBinary(t),
		"interception": "none", "ingress-address": ip, "egress-address": ip, "app-address": ip,
		"admin-port": strconv.Itoa(freePort(t, "127.0.0.1")), "agent-addr": "127.0.0.1:" + strconv.Itoa(freePort(t, "127.0.0.1")),
		"envoy-log-level": "warn", "concurrency": "1", "drain-time": "5",
	}
	for _, m := range extra {
		maps.Copy(flags, m)
	}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	cfg, err := sidecar.Load(sidecar.Source{Flags: flags, Env: lookup}) // only env: hermetic
	if err != nil {
		t.Fatal(err)
	}
	s := &sidecarRun{cfg: cfg, agent: "http://" + cfg.AgentAddr, done: make(chan error, 1), log: newLogBuffer()}
	var w io.Writer = s.log
	if os.Getenv("TRELLIS_E2E_LOG") != "" {
		w = os.Stderr
	}
	s.cfg.Logger = slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	go func() { s.done <- sidecar.Run(ctx, s.cfg) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-s.done:
		case <-time.After(s.cfg.Envoy.DrainTime + 10*time.Second):
			t.Error("sidecar did not stop")
		}
		if t.Failed() {
			t.Logf("sidecar log:\n%s", s.log.String())
		}
	})
	return s
}

func (s *sidecarRun) ready() (int, error) {
	resp, err := http.Get(s.agent + "/ready")
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

func (s *sidecarRun) status(t *testing.T) sidecar.Status {
	t.Helper()
	resp, err := http.Get(s.agent + "/status")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st sidecar.Status
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

// TestSidecar runs the agent for a front node of a one-backend mesh:
// readiness follows Envoy; a SIGKILLed Envoy is restarted and traffic
// resumes; cancellation (the SIGTERM path) turns readiness off at once,
// lets an in-flight request finish, and stops Envoy within the drain
// bound.
func TestSidecar(t *testing.T) {
	envoyBinary(t)
	c := startTrellis(t)
	blueIP, frontIP := loopbackIP(), loopbackIP()
	blue := startApp(t, "blue", blueIP, colorPort)
	c.mesh(t, "color", "")
	c.node(t, "color", "blue", nodeSpec(blueIP, colorPort, types.PortProtocolHttp))
	c.node(t, "color", "front", nodeSpec("", 0, "", "color.local"))
	c.serviceByNode(t, "color", "color.local", "blue")
	s := startSidecar(t, c, "color", "front", frontIP)
	frontAddr := fmt.Sprintf("%s:%d", frontIP, colorPort)
	cl := newClient()

	eventually(t, 20*time.Second, func() error {
		if code, err := s.ready(); err != nil || code != 200 {
			return fmt.Errorf("agent /ready = %d, %v", code, err)
		}
		return nil
	})
	eventually(t, 10*time.Second, cl.expectBody(frontAddr, "color.local", "/", nil, "blue"))
	st := s.status(t)
	if st.HealthStatus != sidecar.Healthy || st.EnvoyState != "LIVE" || !st.ManagementServerConnected || st.EnvoyPid == 0 {
		t.Fatalf("/status = %+v", st)
	}

	pid := killAndRecover(t, s, frontAddr, st.EnvoyPid)
	drainAndStop(t, s, cl, blue, frontAddr, pid)
}

// killAndRecover SIGKILLs Envoy and waits for the supervisor's new one to
// carry traffic; it returns the new pid.
func killAndRecover(t *testing.T, s *sidecarRun, frontAddr string, pid int) int {
	t.Helper()
	quick := &client{http: &http.Client{Timeout: 500 * time.Millisecond, Transport: &http.Transport{}}}
	defer quick.http.CloseIdleConnections()
	killed := time.Now()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	var attempts int
	for {
		attempts++
		if code, body, err := quick.get(frontAddr, "color.local", "/", nil); err == nil && code == 200 && body == "blue" {
			break
		}
		if time.Since(killed) > 20*time.Second {
			t.Fatalf("traffic did not resume within 20 s of killing envoy")
		}
		time.Sleep(10 * time.Millisecond)
	}
	gap := time.Since(killed)
	t.Logf("envoy SIGKILLed: first successful request %v later (%d attempts; includes the 250 ms restart backoff)",
		gap.Round(time.Millisecond), attempts)
	st := s.status(t)
	if st.EnvoyPid == pid || st.EnvoyPid == 0 || st.EnvoyRestartCount != 1 || st.HealthStatus != sidecar.Healthy {
		t.Fatalf("after restart /status = %+v (old pid %d)", st, pid)
	}
	if code, err := s.ready(); err != nil || code != 200 {
		t.Fatalf("agent /ready after restart = %d, %v", code, err)
	}
	return st.EnvoyPid
}

// drainAndStop cancels the sidecar while a slow request is in flight.
func drainAndStop(t *testing.T, s *sidecarRun, cl *client, blue *app, frontAddr string, pid int) {
	t.Helper()
	const slow = 1500 * time.Millisecond
	// Only the in-flight request holds a connection, and it closes after
	// the response, so the drain can end before the drain time.
	cl.http.CloseIdleConnections()
	inflight := slowRequest(blue, frontAddr, slow)
	start := time.Now()
	s.cancel()
	// The agent serves until the drain ends (the in-flight request holds
	// it open): 10 s only bounds a hang, it is not the time measured.
	eventually(t, 10*time.Second, func() error {
		if code, err := s.ready(); err != nil || code != 503 {
			return fmt.Errorf("agent /ready while draining = %d, %v", code, err)
		}
		return nil
	})
	notReady := time.Since(start)
	if err := <-inflight; err != nil {
		t.Errorf("request in flight during drain: %v", err)
	}
	bound := s.cfg.Envoy.DrainTime + 5*time.Second
	select {
	case err := <-s.done:
		if err != nil {
			t.Fatalf("sidecar.Run = %v", err)
		}
		s.done <- nil // for the cleanup
	case <-time.After(bound):
		t.Fatalf("sidecar did not stop within drain time + 5 s (%v)", bound)
	}
	stopped := time.Since(start)
	t.Logf("shutdown: /ready 503 after %v; in-flight %v request completed; stopped after %v (drain time %v)",
		notReady.Round(time.Millisecond), slow, stopped.Round(time.Millisecond), s.cfg.Envoy.DrainTime)
	if stopped >= s.cfg.Envoy.DrainTime {
		t.Errorf("drain did not end when the last connection closed (stopped after %v)", stopped)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("envoy pid %d still exists after the sidecar stopped: %v", pid, err)
	}
	if _, err := http.Get(s.agent + "/ready"); err == nil {
		t.Error("agent API still serving after the sidecar stopped")
	}
}

// slowRequest sends GET /slow through the proxy on a connection that is
// not reused, and returns once blue holds it; blue answers after d. The
// channel gets nil for a 200 "slow".
func slowRequest(blue *app, frontAddr string, d time.Duration) <-chan error {
	arrived := make(chan struct{}, 1)
	blue.onRequest(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != "/slow" {
			return false
		}
		arrived <- struct{}{}
		time.Sleep(d)
		io.WriteString(w, "slow")
		return true
	})
	once := &client{http: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}}
	result := make(chan error, 1)
	go func() {
		code, body, err := once.get(frontAddr, "color.local", "/slow", nil)
		if err == nil && (code != 200 || body != "slow") {
			err = fmt.Errorf("in-flight request = %d %q", code, body)
		}
		result <- err
	}()
	<-arrived
	return result
}
