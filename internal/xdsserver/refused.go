package xdsserver

import (
	"sync"
	"time"
)

// A stream whose node id names no virtual node or gateway is refused
// (identify). A misconfigured Envoy retries every few seconds, but a
// hostile or broken client can open thousands of such streams a second,
// so refusals are counted (trellis_xds_streams_refused_total) and logged
// at most once per refusedLogEvery, with the number left out since.

// refusedLogEvery bounds how often a refusal is logged.
const refusedLogEvery = 10 * time.Second

// refusalLog rate-limits the refusal warning; its own mutex guards it.
type refusalLog struct {
	mu         sync.Mutex
	last       time.Time
	suppressed int
}

// refused counts a refused stream and logs it unless one was logged
// within refusedLogEvery.
func (s *Server) refused(peer string, err error) {
	s.metrics.refused.Inc()
	r := &s.refusals
	r.mu.Lock()
	now := time.Now()
	if !r.last.IsZero() && now.Sub(r.last) < refusedLogEvery {
		r.suppressed++
		r.mu.Unlock()
		return
	}
	suppressed := r.suppressed
	r.last, r.suppressed = now, 0
	r.mu.Unlock()
	s.log.Warn("xds stream refused", "peer", peer, "err", err, "refusedSinceLastLog", suppressed)
}
