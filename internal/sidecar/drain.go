package sidecar

import (
	"context"
	"time"
)

// deregisterTimeout bounds Registrar.Deregister; it is spent out of the
// drain time.
const deregisterTimeout = 2 * time.Second

// shutdown is the SIGTERM path:
//
//  1. the agent answers /ready with 503, so probes take the instance out;
//  2. Registrar.Deregister, so callers stop choosing it;
//  3. POST /drain_listeners?graceful: Envoy discourages connection reuse
//     (Connection: close, HTTP/2 GOAWAY) and closes its listeners after
//     --drain-time-s;
//  4. wait until no downstream connection is open, at most the drain time
//     from the start of shutdown;
//  5. stop Envoy: SIGTERM, SIGKILL after StopTimeout.
//
// It returns within DrainTime + StopTimeout (plus a kill's reaping).
func (s *sidecar) shutdown(stopEnvoy context.CancelFunc, supDone <-chan error) error {
	start := time.Now()
	deadline := start.Add(s.cfg.Envoy.DrainTime)
	s.agent.draining.Store(true)
	s.sup.stopping.Store(true) // an Envoy exit from now on is final
	s.log.Info("shutting down: not ready, draining", "drainTime", s.cfg.Envoy.DrainTime)
	s.regWG.Wait()
	s.deregister(deadline)
	s.drain(deadline)
	stopEnvoy()
	err := <-supDone
	s.log.Info("stopped", "took", time.Since(start).Round(time.Millisecond))
	return err
}

func (s *sidecar) deregister(deadline time.Time) {
	if !s.registered.Load() {
		return
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	ctx, cancel2 := context.WithTimeout(ctx, deregisterTimeout)
	defer cancel2()
	if err := s.reg.Deregister(ctx, s.cfg.Identity); err != nil {
		s.log.Error("deregister", "err", err)
	}
}

// drain starts Envoy's graceful drain and waits until its listeners hold
// no connection or the deadline passes.
func (s *sidecar) drain(deadline time.Time) {
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	if s.sup.PID() == 0 {
		s.log.Info("envoy not running; nothing to drain")
		return
	}
	if err := s.admin.drainListeners(ctx); err != nil {
		s.log.Warn("drain listeners", "err", err)
	}
	t := time.NewTicker(readyPoll)
	defer t.Stop()
	last := activity{Connections: -1}
	for {
		act, err := s.admin.activity(ctx)
		if err == nil {
			if act.Connections == 0 {
				s.log.Info("drained: no open downstream connections")
				return
			}
			last = act
		}
		if s.sup.PID() == 0 {
			s.log.Warn("envoy exited while draining")
			return
		}
		select {
		case <-ctx.Done():
			s.log.Info("drain time over", "openConnections", last.Connections, "activeRequests", last.Requests)
			return
		case <-t.C:
		}
	}
}
