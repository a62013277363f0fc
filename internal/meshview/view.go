package meshview

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/trellis-mesh/trellis/internal/apis/appmesh"
	"github.com/trellis-mesh/trellis/internal/manager"
	"github.com/trellis-mesh/trellis/internal/store"
)

// View follows the store and keeps the latest snapshot.
type View struct {
	st  store.Store
	log *slog.Logger

	responses prometheus.Counter // watch responses applied
	snapshots prometheus.Counter // snapshots published

	mu      sync.Mutex
	cur     *Snapshot
	changed map[string]bool
	notify  chan struct{}
}

// New returns a View over st; call Run to follow it.
func New(st store.Store, log *slog.Logger) *View {
	if log == nil {
		log = slog.Default()
	}
	return &View{st: st, log: log, changed: map[string]bool{}, notify: make(chan struct{}, 1),
		responses: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "trellis_meshview_watch_responses_total",
			Help: "Store watch responses with events that the mesh view applied."}),
		snapshots: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "trellis_meshview_snapshots_total",
			Help: "Snapshots the mesh view published (one per load, and one per batch of queued watch responses, at most 256 each)."}),
	}
}

// Collectors are the view's Prometheus metrics: watch responses applied
// and snapshots published (their ratio is the batching of queued writes).
func (v *View) Collectors() []prometheus.Collector {
	return []prometheus.Collector{v.responses, v.snapshots}
}

// Run loads every resource, then applies the store's changes in revision
// order until ctx ends. When the watch falls behind retained history it
// reloads from scratch (every mesh counts as changed).
func (v *View) Run(ctx context.Context) error {
	for {
		rev, err := v.load(ctx)
		if err != nil {
			return err
		}
		err = v.follow(ctx, rev)
		if ctx.Err() != nil {
			return nil
		}
		if !errors.Is(err, store.ErrCompacted) {
			return err
		}
		v.log.Warn("meshview fell behind the store's history; reloading", "revision", rev)
	}
}

// load replaces the snapshot with a full read of the store.
func (v *View) load(ctx context.Context) (int64, error) {
	kvs, rev, err := v.st.List(ctx, manager.KeyPrefix, store.ListOptions{})
	if err != nil {
		return 0, fmt.Errorf("meshview: list store: %w", err)
	}
	v.mu.Lock()
	prev := v.cur
	v.mu.Unlock()
	b := newBuilder(nil)
	if prev != nil {
		for _, name := range prev.MeshNames() {
			b.mesh(name) // a reload may have dropped meshes: report them changed
		}
	}
	for _, kv := range kvs {
		if err := v.apply(b, store.Event{Type: store.EventPut, KV: kv}); err != nil {
			v.log.Error("meshview: skipping undecodable resource", "key", kv.Key, "err", err)
		}
	}
	v.publish(b.build(rev))
	return rev, nil
}

// follow applies watch responses until the watch ends. Responses that are
// already queued when one arrives go into the same snapshot (at most
// maxBatch of them): a build copies the changed meshes' maps, so one build
// per queued response would cost O(mesh) per write under a burst of writes
// to a large mesh, and the consumers (Next) coalesce to the newest
// snapshot anyway.
func (v *View) follow(ctx context.Context, rev int64) error {
	ch, err := v.st.Watch(ctx, manager.KeyPrefix, rev)
	if err != nil {
		return fmt.Errorf("meshview: watch store: %w", err)
	}
	for resp := range ch {
		if resp.Err != nil {
			return resp.Err
		}
		v.mu.Lock()
		b := newBuilder(v.cur)
		v.mu.Unlock()
		last, err := v.applyQueued(b, resp, ch)
		if last > 0 {
			v.publish(b.build(last))
		}
		if err != nil {
			return err
		}
	}
	if ctx.Err() != nil {
		return nil
	}
	return errors.New("meshview: store watch ended")
}

// maxBatch bounds the watch responses folded into one snapshot, so that a
// steady stream of writes still publishes snapshots.
const maxBatch = 256

// applyQueued applies first and then every response already queued on ch
// (up to maxBatch in all), and returns the revision of the last one with
// events (0: none), and the error a queued response carried.
func (v *View) applyQueued(b *builder, first store.WatchResponse, ch <-chan store.WatchResponse) (int64, error) {
	var last int64
	resp := first
	for n := 1; ; n++ {
		if len(resp.Events) > 0 {
			for _, ev := range resp.Events {
				if err := v.apply(b, ev); err != nil {
					v.log.Error("meshview: skipping undecodable resource", "key", ev.KV.Key, "err", err)
				}
			}
			last = resp.Revision
			v.responses.Inc()
		}
		if n == maxBatch {
			return last, nil
		}
		var ok bool
		select {
		case resp, ok = <-ch:
		default:
			return last, nil
		}
		if !ok {
			return last, nil // the loop in follow sees the closed channel
		}
		if resp.Err != nil {
			return last, resp.Err
		}
	}
}

func (v *View) apply(b *builder, ev store.Event) error {
	if !manager.IsResourceKey(ev.KV.Key) {
		return nil
	}
	raw := ev.KV.Value
	if ev.Type == store.EventDelete {
		raw = ev.PrevValue
	}
	var r appmesh.Resource
	if err := json.Unmarshal(raw, &r); err != nil {
		return err
	}
	if ev.Type == store.EventDelete {
		b.remove(&r)
		return nil
	}
	return b.put(&r)
}

func (v *View) publish(s *Snapshot, changed []string) {
	v.snapshots.Inc()
	v.mu.Lock()
	v.cur = s
	for _, m := range changed {
		v.changed[m] = true
	}
	v.mu.Unlock()
	select {
	case v.notify <- struct{}{}:
	default:
	}
}

// Current returns the latest snapshot (nil before the first load).
func (v *View) Current() *Snapshot {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.cur
}

// Next waits for a snapshot newer than what the caller last took, then
// returns it with every mesh changed since. Changes coalesce: a slow
// consumer gets the newest snapshot and the union of changed meshes.
func (v *View) Next(ctx context.Context) (*Snapshot, []string, error) {
	select {
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	case <-v.notify:
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	changed := sortedKeys(v.changed)
	v.changed = map[string]bool{}
	return v.cur, changed, nil
}

// WaitRevision blocks until the view has applied revision rev (tests and
// benchmarks use it to know a write has been observed).
func (v *View) WaitRevision(ctx context.Context, rev int64) error {
	for {
		if s := v.Current(); s != nil && s.Revision >= rev {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
}
