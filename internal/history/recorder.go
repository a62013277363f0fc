package history

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/trellis-mesh/trellis/internal/apis/appmesh"
	"github.com/trellis-mesh/trellis/internal/manager"
	"github.com/trellis-mesh/trellis/internal/store"
)

// DefaultPerResource is how many versions of each resource a Recorder keeps
// when Options.PerResource is zero.
const DefaultPerResource = 20

// Version is one stored version of a resource.
type Version struct {
	// Revision is the store revision that wrote this version.
	Revision int64 `json:"revision"`
	// Version is the App Mesh metadata.version.
	Version       int64             `json:"version"`
	LastUpdatedAt appmesh.Timestamp `json:"lastUpdatedAt"`
	Status        string            `json:"status"`
	Spec          json.RawMessage   `json:"spec"`
}

// Options configure a Recorder.
type Options struct {
	// PerResource bounds the versions kept per resource; the oldest is
	// evicted first. 0 means DefaultPerResource.
	PerResource int
	Logger      *slog.Logger
	// Registerer receives the recorder's metrics; nil registers nothing.
	Registerer prometheus.Registerer
}

// Recorder keeps the recent versions of every live resource. It is a cache
// owned by the server, which creates it and runs it: it is bounded by
// PerResource versions per live resource (a deleted resource's history is
// dropped with it), filled and invalidated only by the store's watch.
type Recorder struct {
	st    store.Store
	log   *slog.Logger
	limit int

	kept    prometheus.Gauge
	evicted prometheus.Counter
	streams prometheus.Gauge   // open event streams
	refused prometheus.Counter // event streams refused at the bound

	mu      sync.Mutex
	byARN   map[string][]Version
	keyARN  map[string]string // store key -> ARN, for deletions
	total   int
	rev     int64
	changed chan struct{} // closed and replaced on every new revision
	stopped bool
}

// New returns a Recorder over st; Run fills it.
func New(st store.Store, opts Options) *Recorder {
	if opts.PerResource <= 0 {
		opts.PerResource = DefaultPerResource
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	r := &Recorder{
		st: st, log: opts.Logger, limit: opts.PerResource,
		byARN: map[string][]Version{}, keyARN: map[string]string{},
		changed: make(chan struct{}),
		kept: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "trellis_history_versions",
			Help: "Resource versions the history recorder keeps in memory (bounded per resource).",
		}),
		evicted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "trellis_history_versions_evicted_total",
			Help: "Resource versions dropped because a resource reached the per-resource history bound.",
		}),
		streams: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "trellis_events_streams",
			Help: "Open /trellis/v1/events streams (the web console's live updates).",
		}),
		refused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "trellis_events_streams_refused_total",
			Help: "/trellis/v1/events streams refused with 503 because the stream bound was reached.",
		}),
	}
	if opts.Registerer != nil {
		opts.Registerer.MustRegister(r.kept, r.evicted, r.streams, r.refused)
	}
	return r
}

// Run follows the store until ctx is cancelled. It starts from the oldest
// retained revision; when that history was compacted it starts from the
// current contents (one version per resource) instead.
func (r *Recorder) Run(ctx context.Context) error {
	defer r.stop()
	from := int64(0)
	for {
		err := r.follow(ctx, from)
		if ctx.Err() != nil {
			return nil
		}
		if !errors.Is(err, store.ErrCompacted) {
			return err
		}
		if from, err = r.seed(ctx); err != nil {
			return err
		}
	}
}

// follow applies watch responses from revision from on.
func (r *Recorder) follow(ctx context.Context, from int64) error {
	if r.rev > from {
		from = r.rev
	}
	ch, err := r.st.Watch(ctx, manager.KeyPrefix, from)
	if err != nil {
		return fmt.Errorf("history: watch: %w", err)
	}
	for resp := range ch {
		if resp.Err != nil {
			return fmt.Errorf("history: watch: %w", resp.Err)
		}
		r.mu.Lock()
		for _, ev := range resp.Events {
			r.apply(ev)
		}
		r.advance(resp.Revision)
		r.mu.Unlock()
	}
	return ctx.Err()
}

// seed replaces the recorded history with the store's current contents.
func (r *Recorder) seed(ctx context.Context) (int64, error) {
	kvs, rev, err := r.st.List(ctx, manager.KeyPrefix, store.ListOptions{})
	if err != nil {
		return 0, fmt.Errorf("history: list: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.byARN, r.keyARN, r.total = map[string][]Version{}, map[string]string{}, 0
	for _, kv := range kvs {
		r.apply(store.Event{Type: store.EventPut, KV: kv})
	}
	r.rev = 0
	r.advance(rev)
	r.log.Warn("history: older versions were compacted away; history restarts at the current revision", "revision", rev)
	return rev, nil
}

// apply records one event; callers hold r.mu.
func (r *Recorder) apply(ev store.Event) {
	if !manager.IsResourceKey(ev.KV.Key) {
		return
	}
	if ev.Type == store.EventDelete {
		if arn, ok := r.keyARN[ev.KV.Key]; ok {
			r.total -= len(r.byARN[arn])
			delete(r.byARN, arn)
			delete(r.keyARN, ev.KV.Key)
		}
		r.kept.Set(float64(r.total))
		return
	}
	var res appmesh.Resource
	if err := json.Unmarshal(ev.KV.Value, &res); err != nil {
		r.log.Warn("history: undecodable resource", "key", ev.KV.Key, "err", err)
		return
	}
	arn := res.Metadata.Arn
	r.keyARN[ev.KV.Key] = arn
	vs := append(r.byARN[arn], Version{
		Revision: ev.KV.ModRevision, Version: res.Metadata.Version,
		LastUpdatedAt: res.Metadata.LastUpdatedAt, Status: res.Status, Spec: res.Spec,
	})
	r.total++
	if len(vs) > r.limit {
		n := len(vs) - r.limit
		vs = append(vs[:0:0], vs[n:]...)
		r.total -= n
		r.evicted.Add(float64(n))
	}
	r.byARN[arn] = vs
	r.kept.Set(float64(r.total))
}

// advance moves the recorded revision and wakes waiters; callers hold r.mu.
func (r *Recorder) advance(rev int64) {
	if rev <= r.rev {
		return
	}
	r.rev = rev
	close(r.changed)
	r.changed = make(chan struct{})
}

func (r *Recorder) stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.stopped {
		r.stopped = true
		close(r.changed)
	}
}

// Versions returns the kept versions of the resource with this ARN, oldest
// first, or nil.
func (r *Recorder) Versions(arn string) []Version {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Version(nil), r.byARN[arn]...)
}

// ARNs returns the ARNs of every resource with history, sorted.
func (r *Recorder) ARNs() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, len(r.byARN))
	for arn := range r.byARN {
		out = append(out, arn)
	}
	sort.Strings(out)
	return out
}

// Revision returns the last store revision applied, and a channel closed
// when a later one is applied (or the recorder stops).
func (r *Recorder) Revision() (int64, <-chan struct{}) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		c := make(chan struct{})
		close(c)
		return r.rev, c
	}
	return r.rev, r.changed
}
