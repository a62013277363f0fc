package sidecar

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"sync/atomic"
	"syscall"
	"time"
)

// ErrRestartsExhausted is returned by Run when Envoy kept exiting and the
// restart budget (MaxRestarts) is spent.
var ErrRestartsExhausted = errors.New("envoy exited too often")

// Backoff is the delay before restarting Envoy: Initial after the first
// unexpected exit, doubling up to Max. A process that ran longer than Max
// starts the sequence over (the restart count is not reset).
type Backoff struct {
	Initial time.Duration
	Max     time.Duration
}

// DefaultBackoff is 250 ms doubling to 10 s.
var DefaultBackoff = Backoff{Initial: 250 * time.Millisecond, Max: 10 * time.Second}

const defaultStopTimeout = 2 * time.Second

// delay returns the wait before restart number n (1-based).
func (b Backoff) delay(n int) time.Duration {
	d := b.Initial
	for i := 1; i < n && d < b.Max; i++ {
		d *= 2
	}
	return min(d, b.Max)
}

// supervisor runs one Envoy process at a time and restarts it when it
// exits on its own.
type supervisor struct {
	path        string
	args        []string
	env         []string // nil inherits the sidecar's environment
	maxRestarts int
	backoff     Backoff
	stopTimeout time.Duration
	log         *slog.Logger // the supervisor's own messages
	// stdout and stderr receive Envoy's output byte for byte: its access
	// logs on /dev/stdout, its own log lines on stderr, exactly as Envoy
	// wrote them (App Mesh's image did not rewrap them either). An
	// *os.File is handed to Envoy as is, so nothing is copied at all.
	stdout, stderr io.Writer
	onStart        func(pid int)

	pid      atomic.Int64
	restarts atomic.Int64
	// stopping: the sidecar is shutting down, so an exit is not restarted.
	stopping atomic.Bool
}

// PID returns the running Envoy's process id, 0 between runs.
func (s *supervisor) PID() int { return int(s.pid.Load()) }

// Restarts returns how many times Envoy has been restarted.
func (s *supervisor) Restarts() int { return int(s.restarts.Load()) }

// run starts Envoy and keeps it running until ctx ends, then stops it
// (SIGTERM, SIGKILL after stopTimeout) and returns nil. It returns an
// error when Envoy cannot be started or exits more than maxRestarts
// times.
func (s *supervisor) run(ctx context.Context) error {
	streak := 0 // restarts since the process last ran longer than backoff.Max
	for {
		p, err := s.start()
		if err != nil {
			return err
		}
		began := time.Now()
		select {
		case <-ctx.Done():
			s.stop(p)
			return nil
		case err := <-p.done:
			s.pid.Store(0)
			ran := time.Since(began)
			if s.stopping.Load() {
				s.log.Info("envoy exited during shutdown", "exit", exitText(err))
				return nil
			}
			if s.Restarts() >= s.maxRestarts {
				s.log.Error("envoy exited; no restarts left", "err", exitText(err), "ran", ran, "restarts", s.Restarts())
				return fmt.Errorf("%w: %d restarts, last exit: %s", ErrRestartsExhausted, s.Restarts(), exitText(err))
			}
			if ran > s.backoff.Max {
				streak = 0
			}
			streak++
			wait := s.backoff.delay(streak)
			s.log.Warn("envoy exited unexpectedly; restarting", "err", exitText(err), "ran", ran.Round(time.Millisecond),
				"in", wait, "restart", s.Restarts()+1, "of", s.maxRestarts)
			if !sleepCtx(ctx, wait) || s.stopping.Load() {
				return nil // shutting down while waiting to restart
			}
			s.restarts.Add(1)
		}
	}
}

// process is one started Envoy; done receives Wait's result.
type process struct {
	cmd  *exec.Cmd
	done chan error
}

func (s *supervisor) start() (*process, error) {
	cmd := exec.Command(s.path, s.args...)
	cmd.Env = s.env
	cmd.SysProcAttr = sysProcAttr()
	cmd.Stdout, cmd.Stderr = s.stdout, s.stderr
	// A writer that is not a file is fed by exec's own copier; do not let
	// a grandchild holding the pipe keep Wait from returning.
	cmd.WaitDelay = s.stopTimeout
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start envoy: %w", err)
	}
	p := &process{cmd: cmd, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait() }()
	s.pid.Store(int64(cmd.Process.Pid))
	s.log.Info("envoy started", "pid", cmd.Process.Pid, "path", s.path, "args", s.args)
	if s.onStart != nil {
		s.onStart(cmd.Process.Pid)
	}
	return p, nil
}

// stop asks Envoy to exit (SIGTERM) and kills it after stopTimeout.
func (s *supervisor) stop(p *process) {
	defer s.pid.Store(0)
	pid := p.cmd.Process.Pid
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		s.log.Debug("signal envoy", "pid", pid, "err", err)
	}
	t := time.NewTimer(s.stopTimeout)
	defer t.Stop()
	select {
	case err := <-p.done:
		s.log.Info("envoy stopped", "pid", pid, "exit", exitText(err))
		return
	case <-t.C:
	}
	s.log.Warn("envoy ignored SIGTERM; killing it", "pid", pid, "after", s.stopTimeout)
	if err := p.cmd.Process.Kill(); err != nil {
		s.log.Debug("kill envoy", "pid", pid, "err", err)
	}
	// Wait returns at most WaitDelay (stopTimeout) after the process is
	// gone, even if a grandchild still holds an output pipe; allow for
	// that plus reaping on a loaded machine, but never wait forever.
	select {
	case err := <-p.done:
		s.log.Info("envoy killed", "pid", pid, "exit", exitText(err))
	case <-time.After(2*s.stopTimeout + time.Second):
		s.log.Error("envoy output still open after kill", "pid", pid)
	}
}

func exitText(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

// sleepCtx waits d, or returns false as soon as ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
