package sidecar

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestBackoffDelay(t *testing.T) {
	want := []time.Duration{250, 500, 1000, 2000, 4000, 8000, 10000, 10000}
	for i, w := range want {
		if got := DefaultBackoff.delay(i + 1); got != w*time.Millisecond {
			t.Errorf("delay(%d) = %v, want %v", i+1, got, w*time.Millisecond)
		}
	}
}

// fakeSupervisor runs the test binary as envoy in the given fake mode and
// records start times.
func fakeSupervisor(t *testing.T, mode string, maxRestarts int, b Backoff) (*supervisor, *recorder, func() []time.Time) {
	t.Helper()
	rec := newRecorder()
	log := slog.New(rec)
	var mu sync.Mutex
	var starts []time.Time
	s := &supervisor{
		path: testBinary(t), args: []string{"-c", "/nonexistent.yaml"},
		env:         append(os.Environ(), fakeEnv+"="+mode, noRaceExitSleep),
		maxRestarts: maxRestarts, backoff: b, stopTimeout: 300 * time.Millisecond,
		log: log.With("component", "sidecar"), envoyLog: log.With("component", "envoy"),
		onStart: func(int) { mu.Lock(); starts = append(starts, time.Now()); mu.Unlock() },
	}
	return s, rec, func() []time.Time { mu.Lock(); defer mu.Unlock(); return append([]time.Time(nil), starts...) }
}

// TestSupervisorGivesUp: a process that always exits after 100 ms is
// restarted maxRestarts times, each after its backoff, then run fails.
func TestSupervisorGivesUp(t *testing.T) {
	// Max exceeds the 100 ms runs, so the delays double (50, 100, 200 ms).
	b := Backoff{Initial: 50 * time.Millisecond, Max: time.Second}
	s, rec, starts := fakeSupervisor(t, "exit:100ms:3", 3, b)
	begin := time.Now()
	err := s.run(context.Background())
	if !errors.Is(err, ErrRestartsExhausted) {
		t.Fatalf("run = %v, want ErrRestartsExhausted", err)
	}
	if s.Restarts() != 3 || s.PID() != 0 {
		t.Errorf("restarts %d pid %d, want 3 and 0", s.Restarts(), s.PID())
	}
	st := starts()
	if len(st) != 4 {
		t.Fatalf("%d starts, want 4", len(st))
	}
	for i := 1; i < len(st); i++ {
		gap, min := st[i].Sub(st[i-1]), 100*time.Millisecond+b.delay(i)
		if gap < min {
			t.Errorf("restart %d came %v after the previous start, want >= %v (run + backoff)", i, gap, min)
		}
		t.Logf("restart %d: %v after the previous start (backoff %v)", i, gap.Round(time.Millisecond), b.delay(i))
	}
	if n := len(rec.find("restarting")); n != 3 {
		t.Errorf("%d restart warnings, want 3", n)
	}
	if len(rec.find("no restarts left")) != 1 || !strings.Contains(err.Error(), "exit status 3") {
		t.Errorf("give-up not reported with the exit status: %v", err)
	}
	t.Logf("gave up after %v", time.Since(begin).Round(time.Millisecond))
}

func TestSupervisorNoRestarts(t *testing.T) {
	s, _, starts := fakeSupervisor(t, "exit:0s:0", 0, DefaultBackoff)
	if err := s.run(context.Background()); !errors.Is(err, ErrRestartsExhausted) {
		t.Fatalf("run = %v", err)
	}
	if len(starts()) != 1 || s.Restarts() != 0 {
		t.Errorf("%d starts, %d restarts; want 1, 0", len(starts()), s.Restarts())
	}
}

// TestSupervisorRecovers: two crashes, then a process that stays up; ctx
// cancellation stops it with SIGTERM.
func TestSupervisorRecovers(t *testing.T) {
	counter := filepath.Join(t.TempDir(), "runs")
	s, rec, starts := fakeSupervisor(t, "flaky:"+counter+":2", 3, Backoff{Initial: 10 * time.Millisecond, Max: 50 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for len(starts()) < 3 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // the third run must stay up
	if s.Restarts() != 2 || s.PID() == 0 {
		t.Fatalf("restarts %d pid %d, want 2 and a running process", s.Restarts(), s.PID())
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run after cancel = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("run did not return after cancel")
	}
	if len(rec.find("envoy stopped")) != 1 || s.PID() != 0 {
		t.Errorf("no clean stop logged (pid %d); log:\n%s", s.PID(), rec.dump())
	}
}

// TestSupervisorKillsStubborn: a process ignoring SIGTERM is killed after
// stopTimeout.
func TestSupervisorKillsStubborn(t *testing.T) {
	s, rec, starts := fakeSupervisor(t, "stubborn", 3, DefaultBackoff)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.run(ctx) }()
	for len(starts()) == 0 {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // let it install its signal handler
	begin := time.Now()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	took := time.Since(begin)
	if took < s.stopTimeout || took > s.stopTimeout+2*time.Second {
		t.Errorf("stop took %v, want about stopTimeout %v", took, s.stopTimeout)
	}
	if len(rec.find("ignored SIGTERM")) != 1 || len(rec.find("envoy killed")) != 1 {
		t.Error("kill not logged")
	}
}

// TestSupervisorForwardsLogs: Envoy's lines arrive as slog records at
// Envoy's level, tagged component=envoy.
func TestSupervisorForwardsLogs(t *testing.T) {
	s, rec, _ := fakeSupervisor(t, "exit:0s:0", 0, DefaultBackoff)
	s.run(context.Background())
	warn := rec.find("fake envoy -c /nonexistent.yaml")
	if len(warn) != 1 {
		t.Fatalf("envoy line not forwarded: %d records", len(warn))
	}
	if r := warn[0]; r.Level != slog.LevelWarn || attr(r, "component") != "envoy" || attr(r, "logger") != "upstream" ||
		r.Message != "[source/x.cc:1] fake envoy -c /nonexistent.yaml" {
		t.Errorf("record = %v %q component %q logger %q", r.Level, r.Message, attr(r, "component"), attr(r, "logger"))
	}
	plain := rec.find("plain stdout line")
	if len(plain) != 1 || plain[0].Level != slog.LevelInfo || attr(plain[0], "stream") != "stdout" {
		t.Errorf("plain line: %v", plain)
	}
}

func TestSupervisorStartError(t *testing.T) {
	s := &supervisor{path: filepath.Join(t.TempDir(), "no-envoy"), log: slog.New(slog.DiscardHandler), envoyLog: slog.New(slog.DiscardHandler)}
	if err := s.run(context.Background()); err == nil || !strings.Contains(err.Error(), "start envoy") {
		t.Errorf("run = %v, want a start error", err)
	}
}

func TestParseEnvoyLine(t *testing.T) {
	tests := []struct {
		line   string
		level  slog.Level
		logger string
		msg    string
	}{
		{"[2026-01-02 15:04:05.123][7][info][main] [source/server/server.cc:1] starting", slog.LevelInfo, "main", "[source/server/server.cc:1] starting"},
		{"[2026-01-02 15:04:05.123][7][debug][config] x", slog.LevelDebug, "config", "x"},
		{"[2026-01-02 15:04:05.123][7][critical][assert] boom", slog.LevelError, "assert", "boom"},
		{"[2026-01-02 15:04:05.123][7][error][upstream] e", slog.LevelError, "upstream", "e"},
		{"  - name: static_layer_0", slog.LevelInfo, "", "  - name: static_layer_0"},
	}
	for _, tc := range tests {
		level, logger, msg := parseEnvoyLine(tc.line)
		if level != tc.level || logger != tc.logger || msg != tc.msg {
			t.Errorf("parseEnvoyLine(%q) = %v %q %q", tc.line, level, logger, msg)
		}
	}
}
