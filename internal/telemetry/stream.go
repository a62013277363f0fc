package telemetry

import (
	"math"
	"slices"
)

// proxyStream is the state of one Envoy's metrics stream: the last
// cumulative value of every stat it reads (bounded by Options.MaxSeries),
// and the windows it reports active connections into. Only the stream's
// own receive loop touches prev and prevHist.
type proxyStream struct {
	mesh, kind, name string
	nodeID           string
	prev             map[string]float64
	prevHist         map[string]histPrev
	bounds           []float64 // the last histogram bounds seen (boundsOf)
	// accs holds what the current message adds to each window it feeds,
	// kept across messages with the window found for it (see acc): owned
	// by the receive loop; bounded by Options.MaxSeries keys plus one
	// message's, emptied (and counted) when a new message finds it
	// beyond MaxSeries; dropped with the stream. touched lists the accs
	// of the current message, in order.
	accs     map[Key]*acc
	touched  []*acc
	scratch  []float64 // histDelta's per-bucket counts
	messages int
	// young: the Envoy's uptime at its first message was within one
	// window span, so its first cumulative values are all new traffic.
	young bool
}

// acc is what one message adds to one window (delta) and the stream's
// latest active-connection gauge for it. A stream keeps its accs across
// messages, so that a flush of the same stats allocates nothing and apply
// looks each window up in the server-wide map only once per stream.
type acc struct {
	delta
	key                Key
	gauge              float64
	hasDelta, hasGauge bool
	touched            bool // listed in proxyStream.touched
	// e is the window, set by apply (under Telemetry.mu) once it exists.
	// It stays valid while the stream is open: a window is swept only
	// when no stream reports into it (entry.active), and the stream is
	// removed from entry.active only when it closes.
	e *entry
	// buf backs delta.latencyCounts when this acc owns them.
	buf []float64
}

type histPrev struct {
	count float64
	cum   []float64
}

// delta is what one message added to one window.
type delta struct {
	requests, errors float64
	latencyBounds    []float64
	latencyCounts    []float64 // per bucket, len(latencyBounds)+1
}

// uptimeStat is Envoy's uptime gauge in seconds.
const uptimeStat = "server.uptime"

// digest turns one message's families into per-window deltas and gauges
// (the accs it returns, in order; apply adds them to the windows).
// A stat seen for the first time counts from zero, except in the stream's
// first message, which is a baseline unless the Envoy is young: counters
// are cumulative since the Envoy started, which may be long ago when the
// stream is a reconnection. A value below the previous one is a reset
// (an Envoy restart behind the same stream is impossible, but a stat may
// be recreated): the new value is the delta.
func (t *Telemetry) digest(ps *proxyStream, samples []sample) []*acc {
	first := ps.messages == 0
	ps.messages++
	if first {
		ps.young = youngEnvoy(samples, t.Span().Seconds())
	}
	countFirst := !first || ps.young
	t.startMessage(ps)
	for i := range samples {
		sm := &samples[i]
		tg, dest, m := classify(sm.name, ps.mesh)
		if m == mNone || !finite(sm.value) || (m == mActive && sm.kind != kindGauge) {
			continue
		}
		k := Key{Mesh: ps.mesh, Kind: ps.kind, Name: ps.name, Dest: dest}
		if tg == tService {
			k = Key{Mesh: ps.mesh, Kind: serviceKind, Name: dest}
		}
		a := ps.accFor(k)
		if m == mActive {
			a.gauge += sm.value
			a.hasGauge = true
			continue
		}
		a.hasDelta = true
		switch {
		case (m == mRequests || m == mErrors) && sm.kind == kindCounter:
			v, ok := t.counterDelta(ps, sm.name, sm.value, countFirst)
			if ok && m == mRequests {
				a.requests += v
			} else if ok {
				a.errors += v
			}
		case m == mLatency && sm.kind == kindHistogram:
			t.histDelta(ps, sm.name, sm.bounds, sm.cum, countFirst, a)
		}
	}
	return ps.touched
}

// startMessage clears the previous message's accs, and empties the acc
// cache when it has grown beyond MaxSeries keys.
func (t *Telemetry) startMessage(ps *proxyStream) {
	for _, a := range ps.touched {
		a.touched = false
	}
	ps.touched = ps.touched[:0]
	if ps.accs == nil || len(ps.accs) > t.opts.MaxSeries {
		if ps.accs != nil {
			t.metrics.accResets.Inc()
		}
		ps.accs = make(map[Key]*acc)
	}
}

// accFor returns the acc of k for the current message, zeroed on its
// first use in the message.
func (ps *proxyStream) accFor(k Key) *acc {
	a := ps.accs[k]
	if a == nil {
		a = &acc{key: k}
		ps.accs[k] = a
	}
	if !a.touched {
		a.touched = true
		a.delta = delta{}
		a.gauge, a.hasDelta, a.hasGauge = 0, false, false
		ps.touched = append(ps.touched, a)
	}
	return a
}

// youngEnvoy reports whether the server.uptime gauge is at most span.
func youngEnvoy(samples []sample, span float64) bool {
	for _, s := range samples {
		if s.name == uptimeStat && s.kind == kindGauge {
			return s.value <= span
		}
	}
	return false
}

// finite rejects NaN and infinities, which no Envoy stat holds.
func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// room reports whether ps may remember one more series.
func (t *Telemetry) room(ps *proxyStream) bool {
	if len(ps.prev)+len(ps.prevHist) < t.opts.MaxSeries {
		return true
	}
	t.metrics.seriesDropped.Inc()
	return false
}

func (t *Telemetry) counterDelta(ps *proxyStream, name string, v float64, countFirst bool) (float64, bool) {
	p, seen := ps.prev[name]
	if !seen {
		if !t.room(ps) {
			return 0, false
		}
		ps.prev[name] = v
		return v, countFirst
	}
	ps.prev[name] = v
	if v < p {
		t.metrics.resets.Inc()
		return v, true
	}
	return v - p, true
}

// histDelta adds the per-bucket increase of h since the last message to a.
func (t *Telemetry) histDelta(ps *proxyStream, name string, bounds, cum []float64, countFirst bool, a *acc) {
	if len(cum) != len(bounds)+1 || len(bounds) == 0 {
		return
	}
	bounds = ps.boundsOf(bounds) // the frame's slices are reused: keep the stream's copy
	p, seen := ps.prevHist[name]
	if !seen && !t.room(ps) {
		return
	}
	reset := seen && (len(p.cum) != len(cum) || cum[len(cum)-1] < p.count)
	if reset {
		t.metrics.resets.Inc()
	}
	var counts []float64
	if seen || countFirst {
		counts = slices.Grow(ps.scratch[:0], len(cum))[:len(cum)]
		ps.scratch = counts
		for i := range cum {
			c := cum[i]
			if i > 0 {
				c -= cum[i-1]
			}
			if seen && !reset {
				c -= p.cum[i]
				if i > 0 {
					c += p.cum[i-1]
				}
			}
			counts[i] = max(c, 0)
		}
	}
	if len(p.cum) == len(cum) {
		copy(p.cum, cum)
	} else {
		p.cum = slices.Clone(cum)
	}
	p.count = cum[len(cum)-1]
	ps.prevHist[name] = p
	if counts != nil {
		a.addLatency(bounds, counts)
	}
}

// addLatency adds per-bucket counts measured on bounds to a's latency.
func (a *acc) addLatency(bounds, counts []float64) {
	switch {
	case a.latencyBounds == nil:
		a.buf = append(a.buf[:0], counts...)
		a.latencyBounds, a.latencyCounts = bounds, a.buf
	case slices.Equal(a.latencyBounds, bounds):
		for i, c := range counts {
			a.latencyCounts[i] += c
		}
	default: // bounds differ between histograms: rebin into new slices
		var h hist
		h.add(a.latencyBounds, a.latencyCounts)
		h.add(bounds, counts)
		a.latencyBounds, a.latencyCounts = h.bounds, h.counts
	}
}

// apply adds one message's accs (digest) to the windows.
func (t *Telemetry) apply(ps *proxyStream, accs []*acc) {
	now := t.opts.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, a := range accs {
		if a.e == nil {
			if a.e = t.entryFor(a.key); a.e == nil {
				continue
			}
			if _, ok := a.e.active[ps]; !ok {
				a.e.active[ps] = 0 // the stream reports here, without a gauge so far
			}
		}
		if a.hasDelta {
			a.e.win.add(now, a.delta)
		}
		if a.hasGauge {
			a.e.active[ps] = a.gauge
		}
	}
	t.sweep(now)
}

// forget removes a closed stream's gauges; callers hold t.mu.
func (t *Telemetry) forget(ps *proxyStream) {
	for _, e := range t.entries {
		delete(e.active, ps)
	}
}

// boundsOf returns the stream's copy of bounds, shared by its histograms
// while Envoy keeps the same bounds (it always does).
func (ps *proxyStream) boundsOf(b []float64) []float64 {
	if !slices.Equal(ps.bounds, b) {
		ps.bounds = slices.Clone(b)
	}
	return ps.bounds
}
