package sidecar

import (
	"bytes"
	"context"
	"errors"
	"io"
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
		log: log.With("component", "sidecar"), stdout: io.Discard, stderr: io.Discard,
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
	s, rec, _ := fakeSupervisor(t, "stubborn", 3, DefaultBackoff)
	var stdout lockedBuffer
	s.stdout = &stdout
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.run(ctx) }()
	// It says so once its SIGTERM handler is installed.
	for !strings.Contains(stdout.String(), "ignoring SIGTERM") {
		time.Sleep(10 * time.Millisecond)
	}
	begin := time.Now()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second): // bounds a hang; the time is not the claim
		t.Fatal("run did not return after cancel")
	}
	// It waited stopTimeout for SIGTERM before killing. How much longer
	// the kill and reaping took depends on the machine's load: logged,
	// not asserted.
	took := time.Since(begin)
	if took < s.stopTimeout {
		t.Errorf("stop took %v, want at least stopTimeout %v before the kill", took, s.stopTimeout)
	}
	t.Logf("stop took %v (stopTimeout %v)", took.Round(time.Millisecond), s.stopTimeout)
	if len(rec.find("ignored SIGTERM")) != 1 || len(rec.find("envoy killed")) != 1 {
		t.Error("kill not logged")
	}
}

// TestSupervisorPassesOutputThrough: Envoy's stdout (access logs) and
// stderr (its own log lines) reach the sidecar's stdout and stderr byte for
// byte, and none of it becomes an agent log record.
func TestSupervisorPassesOutputThrough(t *testing.T) {
	s, rec, _ := fakeSupervisor(t, "exit:0s:0", 0, DefaultBackoff)
	var stdout, stderr lockedBuffer
	s.stdout, s.stderr = &stdout, &stderr
	s.run(context.Background())
	if got := stdout.String(); got != fakeAccessLog {
		t.Errorf("stdout = %q, want %q", got, fakeAccessLog)
	}
	const want = "[2026-01-02 15:04:05.000][42][warning][upstream] [source/x.cc:1] fake envoy -c /nonexistent.yaml\n"
	if got := stderr.String(); got != want {
		t.Errorf("stderr = %q, want %q", got, want)
	}
	if n := len(rec.find("fake envoy")) + len(rec.find("status")); n != 0 {
		t.Errorf("%d of Envoy's lines became agent log records", n)
	}
}

// lockedBuffer is a bytes.Buffer safe for exec's copier and the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestSupervisorStartError(t *testing.T) {
	s := &supervisor{path: filepath.Join(t.TempDir(), "no-envoy"), log: slog.New(slog.DiscardHandler)}
	if err := s.run(context.Background()); err == nil || !strings.Contains(err.Error(), "start envoy") {
		t.Errorf("run = %v, want a start error", err)
	}
}
