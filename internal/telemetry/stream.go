package telemetry

import (
	"math"
	"slices"
)

// proxyStream is the state of one Envoy's metrics stream: the last
// cumulative value of every stat it reads (bounded by Options.MaxSeries),
// and the windows it reports active connections into. Only the stream's
// own receive loop touches the series and the layout.
type proxyStream struct {
	mesh, kind, name string
	nodeID           string
	// counters and hists are the series: the last cumulative value of
	// each counter and histogram read, indexed by name in counterIdx and
	// histIdx; together at most Options.MaxSeries (room).
	counters   []float64
	hists      []histPrev
	counterIdx map[string]int32
	histIdx    map[string]int32
	layouts    []*layout // the families of its messages (layout.go)
	next       int       // the index in layouts of the next message's
	cumChunk   []float64 // backs the hists' first cumulative counts (carve)
	bounds     []float64 // the last histogram bounds seen (boundsOf)
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

// newProxyStream returns the state of a new stream of the proxy named by
// mesh, kind and name.
func newProxyStream(mesh, kind, name, nodeID string) *proxyStream {
	return &proxyStream{mesh: mesh, kind: kind, name: name, nodeID: nodeID,
		counterIdx: make(map[string]int32), histIdx: make(map[string]int32)}
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
	slots := t.layoutFor(ps, samples).slots
	for i := range samples {
		sm := &samples[i]
		var sl *slot
		if i < len(slots) {
			sl = &slots[i]
		} else { // past MaxSeries families: not remembered
			s := newSlot(sm.name, ps)
			sl = &s
		}
		m := sl.m
		if m == mNone || !finite(sm.value) || (m == mActive && sm.kind != kindGauge) {
			continue
		}
		if sl.a == nil {
			sl.a = ps.accOf(sl.key(ps))
		}
		a := ps.touch(sl.a)
		if m == mActive {
			a.gauge += sm.value
			a.hasGauge = true
			continue
		}
		a.hasDelta = true
		switch {
		case (m == mRequests || m == mErrors) && sm.kind == kindCounter:
			v, ok := t.counterDelta(ps, sl, sm.value, countFirst)
			if ok && m == mRequests {
				a.requests += v
			} else if ok {
				a.errors += v
			}
		case m == mLatency && sm.kind == kindHistogram:
			t.histDelta(ps, sl, sm.bounds, sm.cum, countFirst, a)
		}
	}
	return ps.touched
}

// startMessage clears the previous message's accs, and empties the acc
// cache (and the layout, which points into it) when it has grown beyond
// MaxSeries keys.
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
		ps.layouts, ps.next = nil, 0
	}
}

// accOf returns the stream's acc of k.
func (ps *proxyStream) accOf(k Key) *acc {
	a := ps.accs[k]
	if a == nil {
		a = &acc{key: k}
		ps.accs[k] = a
	}
	return a
}

// touch returns a, zeroed on its first use in the current message.
func (ps *proxyStream) touch(a *acc) *acc {
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
	if len(ps.counters)+len(ps.hists) < t.opts.MaxSeries {
		return true
	}
	t.metrics.seriesDropped.Inc()
	return false
}

// counterDelta returns what the counter of sl added since the last
// message; ok is false for a first value that does not count.
func (t *Telemetry) counterDelta(ps *proxyStream, sl *slot, v float64, countFirst bool) (float64, bool) {
	if sl.ci < 0 {
		i, seen := ps.counterIdx[sl.name]
		if !seen {
			if !t.room(ps) {
				return 0, false
			}
			sl.ci = int32(len(ps.counters))
			ps.counterIdx[sl.name] = sl.ci
			ps.counters = append(ps.counters, v)
			return v, countFirst
		}
		sl.ci = i
	}
	p := &ps.counters[sl.ci]
	prev := *p
	*p = v
	if v < prev {
		t.metrics.resets.Inc()
		return v, true
	}
	return v - prev, true
}

// histOf returns the histogram series of sl and whether it was seen
// before, or nil when a new one finds no room.
func (t *Telemetry) histOf(ps *proxyStream, sl *slot) (*histPrev, bool) {
	if sl.hi >= 0 {
		return &ps.hists[sl.hi], true
	}
	if i, ok := ps.histIdx[sl.name]; ok {
		sl.hi = i
		return &ps.hists[i], true
	}
	if !t.room(ps) {
		return nil, false
	}
	sl.hi = int32(len(ps.hists))
	ps.histIdx[sl.name] = sl.hi
	ps.hists = append(ps.hists, histPrev{})
	return &ps.hists[sl.hi], false
}

// histDelta adds the per-bucket increase of the histogram of sl since the
// last message to a.
func (t *Telemetry) histDelta(ps *proxyStream, sl *slot, bounds, cum []float64, countFirst bool, a *acc) {
	if len(cum) != len(bounds)+1 || len(bounds) == 0 {
		return
	}
	bounds = ps.boundsOf(bounds) // the frame's slices are reused: keep the stream's copy
	p, seen := t.histOf(ps, sl)
	if p == nil {
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
	switch {
	case len(p.cum) == len(cum):
		copy(p.cum, cum)
	case p.cum == nil:
		p.cum = ps.carve(cum)
	default:
		p.cum = slices.Clone(cum)
	}
	p.count = cum[len(cum)-1]
	if counts != nil {
		a.addLatency(bounds, counts)
	}
}

// carve returns a copy of a new histogram's cumulative counts, cut from
// the stream's chunk (cumChunk) so that the stream's histograms lie
// together in memory: a message reads them all, out of the CPU caches.
// Only a series' first counts are carved, so the chunks hold at most
// MaxSeries histograms' first bucket counts.
func (ps *proxyStream) carve(cum []float64) []float64 {
	n := len(cum)
	if cap(ps.cumChunk)-len(ps.cumChunk) < n {
		ps.cumChunk = make([]float64, 0, max(n, 512))
	}
	i := len(ps.cumChunk)
	ps.cumChunk = append(ps.cumChunk, cum...)
	return ps.cumChunk[i : i+n : i+n]
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
