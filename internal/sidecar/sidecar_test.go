package sidecar

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trellis-mesh/trellis/internal/freeport"
)

// freePort returns a loopback port free a moment ago that Envoy or the
// agent binds later: freeport picks it below the kernel's ephemeral range.
func freePort(t *testing.T) int {
	t.Helper()
	port, err := freeport.Port("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	return port
}

// callLog is a Registrar recording its calls.
type callLog struct {
	mu    sync.Mutex
	calls []string
	at    map[string]time.Time
}

func (c *callLog) record(what string, id Identity) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, what+" "+id.Name)
	if c.at == nil {
		c.at = map[string]time.Time{}
	}
	c.at[what] = time.Now()
	return nil
}

func (c *callLog) Register(_ context.Context, id Identity) error   { return c.record("register", id) }
func (c *callLog) Deregister(_ context.Context, id Identity) error { return c.record("deregister", id) }

func (c *callLog) snapshot() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.calls...)
}

// fakeConfig is a sidecar whose "envoy" is this test binary in mode.
func fakeConfig(t *testing.T, mode string) (Config, *recorder, *callLog) {
	t.Helper()
	t.Setenv(fakeEnv, mode)
	name, value, _ := strings.Cut(noRaceExitSleep, "=")
	t.Setenv(name, value)
	c, err := Load(src(map[string]string{
		"mesh": "m", "virtual-node": "front", "envoy-path": testBinary(t), "max-restarts": "1",
		"admin-port": strconv.Itoa(freePort(t)), "agent-addr": "127.0.0.1:" + strconv.Itoa(freePort(t)),
		"drain-time": "5", "interception": "none",
	}, nil))
	if err != nil {
		t.Fatal(err)
	}
	rec, reg := newRecorder(), &callLog{}
	c.Logger, c.Registrar = slog.New(rec), reg
	c.Stdout, c.Stderr = io.Discard, io.Discard
	c.Backoff = Backoff{Initial: 10 * time.Millisecond, Max: 20 * time.Millisecond}
	return c, rec, reg
}

func get(url string) (int, string, error) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

func waitFor(t *testing.T, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRunReadyStatusDrain drives Run against a fake Envoy admin API:
// readiness follows LIVE, /status reports the process, and cancellation
// turns /ready to 503, deregisters, drains, and returns nil.
func TestRunReadyStatusDrain(t *testing.T) {
	cfg, rec, reg := fakeConfig(t, "admin")
	envoyErr := &timedWriter{}
	cfg.Stderr = envoyErr
	agentURL := "http://" + cfg.AgentAddr
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg) }()

	waitFor(t, "/ready 200", func() bool { code, _, _ := get(agentURL + "/ready"); return code == 200 })
	_, body, err := get(agentURL + "/status")
	var st Status
	if err != nil || json.Unmarshal([]byte(body), &st) != nil {
		t.Fatalf("/status: %v %q", err, body)
	}
	if st.HealthStatus != Healthy || st.EnvoyState != "LIVE" || st.EnvoyPid == 0 || !st.ManagementServerConnected || st.Draining {
		t.Errorf("/status = %+v", st)
	}
	waitFor(t, "Register", func() bool { return len(reg.snapshot()) == 1 })

	cancel()
	waitFor(t, "/ready 503", func() bool { code, _, _ := get(agentURL + "/ready"); return code == 503 })
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run = %v", err)
		}
	case <-time.After(cfg.Envoy.DrainTime + 5*time.Second):
		t.Fatal("Run did not return within drain time + 5 s")
	}
	if calls := reg.snapshot(); fmt.Sprint(calls) != "[register front deregister front]" {
		t.Errorf("registrar calls %v", calls)
	}
	// Fake Envoy's admin writes a log line to its stderr when drained.
	drained := envoyErr.find("drain_listeners graceful")
	if len(drained) != 1 || !reg.at["deregister"].Before(drained[0]) {
		t.Errorf("drain_listeners?graceful not called after Deregister: %v", drained)
	}
	if len(rec.find("drained: no open downstream connections")) != 1 || len(rec.find("envoy stopped")) != 1 {
		t.Error("drain end or envoy stop not logged")
	}
	if _, _, err := get(agentURL + "/ready"); err == nil {
		t.Error("agent still serving after Run returned")
	}
}

// TestRunGivesUp: Run fails with ErrRestartsExhausted when Envoy keeps
// exiting.
func TestRunGivesUp(t *testing.T) {
	cfg, _, reg := fakeConfig(t, "exit:50ms:1")
	err := Run(context.Background(), cfg)
	if !errors.Is(err, ErrRestartsExhausted) {
		t.Fatalf("Run = %v, want ErrRestartsExhausted", err)
	}
	if calls := reg.snapshot(); len(calls) != 0 {
		t.Errorf("registrar called for an instance never registered: %v", calls)
	}
}

func TestRunSetupErrors(t *testing.T) {
	cfg, _, _ := fakeConfig(t, "serve")
	ln, err := net.Listen("tcp", cfg.AgentAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if err := Run(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "agent listen") {
		t.Errorf("agent port taken: %v", err)
	}
	cfg.Envoy.Path = ""
	t.Setenv("PATH", t.TempDir())
	if err := Run(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "envoy not found on PATH") {
		t.Errorf("no envoy: %v", err)
	}
}

// timedWriter records when each write arrived, for ordering Envoy's
// output against other events.
type timedWriter struct {
	mu     sync.Mutex
	writes []timedWrite
}

type timedWrite struct {
	at   time.Time
	data string
}

func (w *timedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writes = append(w.writes, timedWrite{time.Now(), string(p)})
	return len(p), nil
}

// find returns the arrival times of the writes containing s.
func (w *timedWriter) find(s string) []time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []time.Time
	for _, x := range w.writes {
		if strings.Contains(x.data, s) {
			out = append(out, x.at)
		}
	}
	return out
}
