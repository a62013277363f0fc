package telemetry

import (
	"slices"
	"strings"
)

// layout is what a stream's previous message held: the families Trellis
// reads, in order, and what digest derived from each name. An Envoy sends
// the same families in the same order every flush, so the decoder compares
// each name with the layout's at the same position (frame.memo) and, when
// they match, digest takes the window and the series from the slot instead
// of classifying the name and searching three maps. The names are one
// string, so the comparisons read memory in order.
//
// A stream keeps a layout per message of a flush (Envoy's batch_size may
// split a flush), at most maxLayouts, owned by its receive loop. Each
// holds at most Options.MaxSeries slots (families past that are classified
// per message). A new one is built when a message matches none (counted in
// trellis_telemetry_stream_layouts_total, with each stream's first); one
// unused for maxLayouts messages is dropped when another is looked for;
// all are dropped with the stream's window cache (startMessage).
type layout struct {
	slots []slot
	used  int // proxyStream.messages when last used
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

// maxLayouts bounds the layouts a stream keeps: one per message of a
// flush (Envoy's batch_size splits a flush into messages, sent in the same
// order every flush), for flushes of up to maxLayouts messages.
const maxLayouts = 4

// expected is the layout the stream's next message should have (the
// frame's memo), or nil.
func (ps *proxyStream) expected() *layout {
	if len(ps.layouts) == 0 {
		return nil
	}
	return ps.layouts[ps.next]
}

// layoutFor returns the layout of samples: the expected one when the
// decoder found every name in it (sample.known), else another the stream
// keeps whose names match, else a new one (in place of one unused for
// maxLayouts messages, or of the least recently used). The next message
// is expected to have the layout after it.
func (t *Telemetry) layoutFor(ps *proxyStream, samples []sample) *layout {
	i := -1
	if l := ps.expected(); l != nil && t.fits(l, samples, true) {
		i = ps.next
	} else {
		i = t.findLayout(ps, samples)
	}
	if i < 0 {
		i = t.addLayout(ps, t.newLayout(ps, samples))
	}
	l := ps.layouts[i]
	l.used = ps.messages
	ps.next = (i + 1) % len(ps.layouts)
	return l
}

// findLayout returns the index of a kept layout whose names are those of
// samples, or -1; it first drops the layouts unused for maxLayouts
// messages.
func (t *Telemetry) findLayout(ps *proxyStream, samples []sample) int {
	ps.layouts = slices.DeleteFunc(ps.layouts, func(l *layout) bool { return ps.messages-l.used > maxLayouts })
	for i, l := range ps.layouts {
		if t.fits(l, samples, false) {
			return i
		}
	}
	return -1
}

// addLayout keeps l, in place of the least recently used layout when the
// stream keeps maxLayouts, and returns its index.
func (t *Telemetry) addLayout(ps *proxyStream, l *layout) int {
	if len(ps.layouts) < maxLayouts {
		ps.layouts = append(ps.layouts, l)
		return len(ps.layouts) - 1
	}
	old := 0
	for i, k := range ps.layouts {
		if k.used < ps.layouts[old].used {
			old = i
		}
	}
	ps.layouts[old] = l
	return old
}

// fits reports whether l describes samples: as many slots as it may hold,
// and every sample within them decoded against l (known, when decoded is
// set) or with l's name.
func (t *Telemetry) fits(l *layout, samples []sample, decoded bool) bool {
	if len(l.slots) != min(len(samples), t.opts.MaxSeries) {
		return false
	}
	for i := range l.slots {
		if decoded && !samples[i].known || !decoded && samples[i].name != l.slots[i].name {
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
