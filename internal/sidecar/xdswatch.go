package sidecar

import (
	"context"
	"time"
)

// Control-plane watch timing. Envoy reports control_plane.connected_state
// (1 while its ADS stream is up); the sidecar reads it every xdsWatchPoll.
// A proxy that has never connected gets xdsStartGrace before the first
// warning (Envoy is still starting), and while the outage lasts the warning
// is repeated every xdsWarnRepeat so it stays visible in the logs.
const (
	xdsWatchPoll  = 500 * time.Millisecond
	xdsStartGrace = 5 * time.Second
	xdsWarnRepeat = 30 * time.Second
)

// xdsWatch follows the ADS connection state as Envoy reports it and says
// when to log: a WARN when the control plane becomes unreachable (and again
// every xdsWarnRepeat while it stays so), an INFO when it is back. It is a
// pure state machine; watchControlPlane feeds it.
type xdsWatch struct {
	started    time.Time // when the watch began
	everUp     bool      // the stream has been up at least once
	up         bool      // the stream is up now
	downSince  time.Time // when the current outage began (zero while up)
	lastWarned time.Time // when the last WARN was logged (zero: none this outage)
}

// xdsEvent is what one observation asks the sidecar to log.
type xdsEvent int

const (
	xdsNothing xdsEvent = iota
	xdsLost             // WARN: unreachable (first of this outage, or a repeat)
	xdsBack             // INFO: connected again after an outage
	xdsFirst            // INFO: first connection
)

func newXDSWatch(now time.Time) *xdsWatch { return &xdsWatch{started: now} }

// observe records the state seen at now and returns what to log.
func (w *xdsWatch) observe(now time.Time, connected bool) xdsEvent {
	if connected {
		wasDown, first := !w.up, !w.everUp
		warned := !w.lastWarned.IsZero()
		w.up, w.everUp, w.downSince, w.lastWarned = true, true, time.Time{}, time.Time{}
		switch {
		case first && !warned:
			return xdsFirst
		case wasDown:
			return xdsBack
		}
		return xdsNothing
	}
	if w.up || w.downSince.IsZero() {
		w.up = false
		w.downSince = now
		if !w.everUp {
			w.downSince = w.started
		}
	}
	if !w.everUp && now.Sub(w.started) < xdsStartGrace {
		return xdsNothing
	}
	if w.lastWarned.IsZero() || now.Sub(w.lastWarned) >= xdsWarnRepeat {
		w.lastWarned = now
		return xdsLost
	}
	return xdsNothing
}

// outage is how long the control plane has been unreachable at now (0
// while connected).
func (w *xdsWatch) outage(now time.Time) time.Duration {
	if w.downSince.IsZero() {
		return 0
	}
	return now.Sub(w.downSince)
}

// watchControlPlane polls Envoy's connected state until ctx ends and logs
// the transitions xdsWatch reports. While Envoy's admin API does not answer
// (Envoy starting or restarting) nothing is concluded.
func (s *sidecar) watchControlPlane(ctx context.Context) {
	t := time.NewTicker(xdsWatchPoll)
	defer t.Stop()
	w := newXDSWatch(time.Now())
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		connected, err := s.admin.connected(ctx)
		if err != nil {
			continue
		}
		now := time.Now()
		outage := w.outage(now)
		switch w.observe(now, connected) {
		case xdsLost:
			s.log.Warn("control plane unreachable: Envoy's xDS stream is down; the proxy keeps serving its last configuration and gets no updates until it reconnects",
				"xds", s.cfg.XDS.String(), "node", s.cfg.Identity.NodeID, "for", w.outage(now).Round(time.Second))
		case xdsBack:
			s.log.Info("control plane reachable again: xDS stream reconnected",
				"xds", s.cfg.XDS.String(), "outage", outage.Round(100*time.Millisecond))
		case xdsFirst:
			s.log.Info("connected to the control plane", "xds", s.cfg.XDS.String())
		}
	}
}

// startControlPlaneWatch runs watchControlPlane until ctx ends; the
// returned func waits for it to return.
func (s *sidecar) startControlPlaneWatch(ctx context.Context) (wait func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.watchControlPlane(ctx)
	}()
	return func() { <-done }
}
