package xdsserver

import (
	"sync"
	"time"
)

// A stream is refused when its node id names no virtual node or gateway
// (identify), when the server holds its limit of streams, or when it sends
// no request in time (limits.go). A misconfigured Envoy retries every few
// seconds, but a hostile or broken client can open thousands of such
// streams a second, so refusals are counted
// (trellis_xds_streams_refused_total{reason}) and logged at most once per
// refusedLogEvery per reason, with the number left out since.

// refusedLogEvery bounds how often a refusal of one reason is logged.
const refusedLogEvery = 10 * time.Second

// refusalLog rate-limits the refusal warning per reason; its own mutex
// guards it. It holds one entry per reason, a fixed set (limits.go).
type refusalLog struct {
	mu     sync.Mutex
	bursts map[string]*refusalBurst
}

type refusalBurst struct {
	last       time.Time
	suppressed int
}

// refused counts a refused stream and logs it unless one of the same
// reason was logged within refusedLogEvery.
func (s *Server) refused(peer, reason string, err error) {
	s.metrics.refused.WithLabelValues(reason).Inc()
	r := &s.refusals
	r.mu.Lock()
	if r.bursts == nil {
		r.bursts = make(map[string]*refusalBurst)
	}
	b := r.bursts[reason]
	if b == nil {
		b = &refusalBurst{}
		r.bursts[reason] = b
	}
	now := time.Now()
	if !b.last.IsZero() && now.Sub(b.last) < refusedLogEvery {
		b.suppressed++
		r.mu.Unlock()
		return
	}
	suppressed := b.suppressed
	b.last, b.suppressed = now, 0
	r.mu.Unlock()
	s.log.Warn("xds stream refused", "reason", reason, "peer", peer, "err", err, "refusedSinceLastLog", suppressed)
}
