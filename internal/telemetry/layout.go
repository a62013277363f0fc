package telemetry

import "strings"

// layout is what a stream's previous message held: the families Trellis
// reads, in order, and what digest derived from each name. An Envoy sends
// the same families in the same order every flush, so the decoder compares
// each name with the layout's at the same position (frame.memo) and, when
// they match, digest takes the window and the series from the slot instead
// of classifying the name and searching three maps. The names are one
// string, so the comparisons read memory in order.
//
// A stream's layout is owned by its receive loop. It holds at most
// Options.MaxSeries slots (families past that are classified per message),
// it is rebuilt when a message's families differ from the previous one's
// (counted in trellis_telemetry_stream_layouts_total, with each stream's
// first), and dropped with the stream's window cache (startMessage).
type layout struct {
	slots []slot
}

// slot is one family position of a layout.
// Its fields are what every message reads, in 40 bytes: a stream reads
// one slot per family, and its slots are out of the CPU caches by then.
type slot struct {
	name string // a substring of the layout's one string of names
	// a is the acc of the window the stat feeds, set on first use (the
	// stream's accs hold it until the layout is dropped with them).
	a *acc
	// ci and hi index the stat's series in proxyStream.counters and
	// hists, -1 until the stat is seen as a counter or a histogram.
	ci, hi int32
	m      metric // what the stat feeds (classify)
}

// key is the window a slot's stat feeds, for the stream ps.
func (sl *slot) key(ps *proxyStream) Key {
	tg, dest, _ := classify(sl.name, ps.mesh)
	if tg == tService {
		return Key{Mesh: ps.mesh, Kind: serviceKind, Name: dest}
	}
	return Key{Mesh: ps.mesh, Kind: ps.kind, Name: ps.name, Dest: dest}
}

// newSlot classifies name for the stream ps.
func newSlot(name string, ps *proxyStream) slot {
	_, _, m := classify(name, ps.mesh)
	return slot{name: name, m: m, ci: -1, hi: -1}
}

// layoutFits reports whether the stream's layout describes samples: every
// sample within the layout was decoded against it (sample.known) and the
// layout has as many slots as it may.
func (t *Telemetry) layoutFits(ps *proxyStream, samples []sample) bool {
	l := ps.layout
	if l == nil || len(l.slots) != min(len(samples), t.opts.MaxSeries) {
		return false
	}
	for i := range l.slots {
		if !samples[i].known {
			return false
		}
	}
	return true
}

// newLayout builds the layout of samples for the stream ps: their names
// copied into one string, each classified.
func (t *Telemetry) newLayout(ps *proxyStream, samples []sample) *layout {
	t.metrics.layouts.Inc()
	samples = samples[:min(len(samples), t.opts.MaxSeries)]
	size := 0
	for i := range samples {
		size += len(samples[i].name)
	}
	var b strings.Builder
	b.Grow(size)
	for i := range samples {
		b.WriteString(samples[i].name)
	}
	all := b.String()
	l := &layout{slots: make([]slot, len(samples))}
	for i := range samples {
		n := len(samples[i].name)
		l.slots[i] = newSlot(all[:n], ps)
		all = all[n:]
	}
	return l
}
