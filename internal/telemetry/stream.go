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
	// deltas and gauges are digest's result, reused for every message
	// (apply copies what it keeps).
	deltas   map[Key]*delta
	gauges   map[Key]float64
	messages int
	// young: the Envoy's uptime at its first message was within one
	// window span, so its first cumulative values are all new traffic.
	young bool
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

// digest turns one message's families into per-window deltas and gauges.
// A stat seen for the first time counts from zero, except in the stream's
// first message, which is a baseline unless the Envoy is young: counters
// are cumulative since the Envoy started, which may be long ago when the
// stream is a reconnection. A value below the previous one is a reset
// (an Envoy restart behind the same stream is impossible, but a stat may
// be recreated): the new value is the delta.
func (t *Telemetry) digest(ps *proxyStream, samples []sample) (map[Key]*delta, map[Key]float64) {
	first := ps.messages == 0
	ps.messages++
	if first {
		ps.young = youngEnvoy(samples, t.Span().Seconds())
	}
	countFirst := !first || ps.young
	if ps.deltas == nil {
		ps.deltas, ps.gauges = make(map[Key]*delta), make(map[Key]float64)
	}
	clear(ps.deltas)
	clear(ps.gauges)
	deltas, gauges := ps.deltas, ps.gauges
	for i := range samples {
		sm := &samples[i]
		tg, dest, m := classify(sm.name, ps.mesh)
		if m == mNone || !finite(sm.value) {
			continue
		}
		k := Key{Mesh: ps.mesh, Kind: ps.kind, Name: ps.name, Dest: dest}
		if tg == tService {
			k = Key{Mesh: ps.mesh, Kind: serviceKind, Name: dest}
		}
		switch {
		case m == mActive && sm.kind == kindGauge:
			gauges[k] += sm.value
			continue
		case m == mActive:
			continue
		}
		d := deltas[k]
		if d == nil {
			d = &delta{}
			deltas[k] = d
		}
		switch {
		case (m == mRequests || m == mErrors) && sm.kind == kindCounter:
			v, ok := t.counterDelta(ps, sm.name, sm.value, countFirst)
			if ok && m == mRequests {
				d.requests += v
			} else if ok {
				d.errors += v
			}
		case m == mLatency && sm.kind == kindHistogram:
			t.histDelta(ps, sm.name, sm.bounds, sm.cum, countFirst, d)
		}
	}
	return deltas, gauges
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

// histDelta adds the per-bucket increase of h since the last message to d.
func (t *Telemetry) histDelta(ps *proxyStream, name string, bounds, cum []float64, countFirst bool, d *delta) {
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
		counts = make([]float64, len(cum))
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
	if counts == nil {
		return
	}
	if d.latencyBounds == nil {
		d.latencyBounds, d.latencyCounts = bounds, counts
		return
	}
	var h2 hist
	h2.add(d.latencyBounds, d.latencyCounts)
	h2.add(bounds, counts)
	d.latencyBounds, d.latencyCounts = h2.bounds, h2.counts
}

// apply adds one message's deltas and gauges to the windows.
func (t *Telemetry) apply(ps *proxyStream, deltas map[Key]*delta, gauges map[Key]float64) {
	now := t.opts.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	for k, d := range deltas {
		if e := t.entryFor(k); e != nil {
			e.win.add(now, *d)
			if _, ok := e.active[ps]; !ok {
				e.active[ps] = 0 // the stream reports here, without a gauge so far
			}
		}
	}
	for k, v := range gauges {
		if e := t.entryFor(k); e != nil {
			e.active[ps] = v
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
