package telemetry

import (
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Defaults for zero Options fields.
const (
	DefaultBucket          = 5 * time.Second
	DefaultBuckets         = 12 // one minute of 5 s buckets
	DefaultMaxStreams      = 10000
	DefaultMaxSeries       = 4096
	DefaultMaxWindows      = 100000
	DefaultMaxMessageBytes = 4 << 20 // grpc-go's default receive limit
	// DefaultFirstMessageTimeout matches the xDS server's first-request
	// deadline (xdsserver.DefaultFirstRequestTimeout).
	DefaultFirstMessageTimeout = 30 * time.Second
)

// Options configures a Telemetry. Zero fields take the defaults above.
type Options struct {
	Logger *slog.Logger
	// Registerer, when set, gets the receiver's own metrics and the
	// golden-signal Collector.
	Registerer prometheus.Registerer
	// Bucket is the width of one window slot and Buckets their number: the
	// window spans Bucket*Buckets.
	Bucket  time.Duration
	Buckets int
	// MaxStreams bounds concurrent metrics streams (one per Envoy); a
	// stream beyond it is refused with RESOURCE_EXHAUSTED.
	MaxStreams int
	// MaxSeries bounds the stats one stream remembers the last value of
	// (only the stats Trellis reads are kept; others are not stored).
	// Further series are ignored and counted.
	MaxSeries int
	// MaxWindows bounds the node, edge and service windows kept over all meshes;
	// data for a new key beyond it is dropped and counted.
	MaxWindows int
	// MaxMessageBytes bounds one stream message; a larger one ends the
	// stream with RESOURCE_EXHAUSTED. The gRPC server's own receive limit
	// (4 MiB by default) bounds what is decoded before this check.
	MaxMessageBytes int
	// FirstMessageTimeout bounds how long a stream may stay open without
	// sending its first message (which names the proxy); past it the
	// stream ends with DEADLINE_EXCEEDED, counted as reason
	// no_first_message. MaxStreams only counts identified streams, so this
	// is what bounds the silent ones in time.
	FirstMessageTimeout time.Duration
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
}

func (o *Options) defaults() {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	setDefault(&o.Bucket, DefaultBucket)
	setDefault(&o.Buckets, DefaultBuckets)
	setDefault(&o.MaxStreams, DefaultMaxStreams)
	setDefault(&o.MaxSeries, DefaultMaxSeries)
	setDefault(&o.MaxWindows, DefaultMaxWindows)
	setDefault(&o.MaxMessageBytes, DefaultMaxMessageBytes)
	setDefault(&o.FirstMessageTimeout, DefaultFirstMessageTimeout)
	if o.Now == nil {
		o.Now = time.Now
	}
}

func setDefault[T int | time.Duration](v *T, d T) {
	if *v <= 0 {
		*v = d
	}
}

// Key names one window: a proxy's inbound side (Dest empty) or an edge from
// that proxy to the callee virtual node Dest.
type Key struct {
	Mesh string
	Kind string // virtualNode or virtualGateway
	Name string
	Dest string
}

// entry is one window and, for every open proxy stream that reports into
// it, the latest active-connection gauge (0 until one is seen).
type entry struct {
	win    *window
	active map[*proxyStream]float64
}

// Telemetry is the golden-signal store and the MetricsService receiver.
// It owns every window; streams add to them, readers copy out. Windows are
// bounded by Options.MaxWindows and dropped once idle for a whole window
// span with no proxy reporting into them. Safe for concurrent use.
type Telemetry struct {
	opts    Options
	log     *slog.Logger
	metrics *receiverMetrics
	wg      sync.WaitGroup // stream receive loops (receiver.go)

	// samples holds the samples slices frames are decoded into (codec),
	// each put back once its message is applied (receive), so that a
	// message is decoded into memory the previous one just used rather
	// than into its stream's own, long cold. Owned by the Telemetry;
	// bounded by the messages being decoded and digested at once (and
	// emptied by the garbage collector); every use overwrites what it
	// reads.
	samples sync.Pool

	mu        sync.Mutex
	entries   map[Key]*entry
	streams   map[*proxyStream]struct{}
	lastSweep time.Time
}

// New returns an empty Telemetry; register it with RegisterService.
func New(opts Options) *Telemetry {
	opts.defaults()
	t := &Telemetry{
		opts:    opts,
		log:     opts.Logger,
		entries: make(map[Key]*entry),
		streams: make(map[*proxyStream]struct{}),
	}
	t.metrics = newReceiverMetrics(opts.Registerer, t)
	return t
}

// Span is how far back the windows reach.
func (t *Telemetry) Span() time.Duration { return t.opts.Bucket * time.Duration(t.opts.Buckets) }

// entryFor returns the window of k, creating it within MaxWindows; callers
// hold t.mu.
func (t *Telemetry) entryFor(k Key) *entry {
	if e, ok := t.entries[k]; ok {
		return e
	}
	if len(t.entries) >= t.opts.MaxWindows {
		t.metrics.windowsDropped.Inc()
		return nil
	}
	e := &entry{win: newWindow(t.opts.Bucket, t.opts.Buckets), active: make(map[*proxyStream]float64)}
	t.entries[k] = e
	return e
}

// sweep drops windows idle for a whole span that no stream reports into;
// it runs at most once per bucket; callers hold t.mu.
func (t *Telemetry) sweep(now time.Time) {
	if now.Sub(t.lastSweep) < t.opts.Bucket {
		return
	}
	t.lastSweep = now
	for k, e := range t.entries {
		if len(e.active) == 0 && now.Sub(e.win.last) > t.Span() {
			delete(t.entries, k)
		}
	}
}

// Entry is one window's key and figures, as Snapshot returns them.
type Entry struct {
	Key
	Signals
	// Proxies is the number of connected Envoys reporting into the window.
	Proxies int
}

// Snapshot returns the figures of every window of mesh ("" for all),
// sorted by key.
func (t *Telemetry) Snapshot(mesh string) []Entry {
	now := t.opts.Now()
	t.mu.Lock()
	out := make([]Entry, 0, len(t.entries))
	for k, e := range t.entries {
		if mesh != "" && k.Mesh != mesh {
			continue
		}
		s := e.win.signals(now)
		for _, v := range e.active {
			s.ActiveConnections += v
		}
		out = append(out, Entry{Key: k, Signals: s, Proxies: len(e.active)})
	}
	t.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Key.less(out[j].Key) })
	return out
}

func (k Key) less(o Key) bool {
	if k.Mesh != o.Mesh {
		return k.Mesh < o.Mesh
	}
	if k.Kind != o.Kind {
		return k.Kind < o.Kind
	}
	if k.Name != o.Name {
		return k.Name < o.Name
	}
	return k.Dest < o.Dest
}
