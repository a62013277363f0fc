package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/trellis-mesh/trellis/internal/ir"
	"github.com/trellis-mesh/trellis/internal/store"
)

// DefaultTTL caps the lease of an instance registered with AttrTTL.
const DefaultTTL = 30 * time.Second

// Options configure a Registry.
type Options struct {
	// TTL caps the lease an instance asks for with AttrTTL (how long a
	// leased instance lives without a heartbeat); 0 means DefaultTTL.
	// Instances registered without AttrTTL never expire.
	TTL time.Duration
	// ExpiryInterval is how often expired instances are swept; 0 means TTL/3.
	ExpiryInterval time.Duration
	// Now is the clock; nil means time.Now (tests pass a fake clock).
	Now    func() time.Time
	Logger *slog.Logger
}

// Registry is the service registry over a store. Writes go to the store;
// Lookup is served from an index that Run keeps current.
type Registry struct {
	st       store.Store
	log      *slog.Logger
	ttl      time.Duration
	interval time.Duration
	now      func() time.Time

	mu      sync.RWMutex
	idx     *index
	rev     int64
	changed map[ServiceName]bool
	notify  chan struct{}
}

// New returns a Registry over st; call Run to follow the store and expire
// instances.
func New(st store.Store, opts Options) *Registry {
	if opts.TTL <= 0 {
		opts.TTL = DefaultTTL
	}
	if opts.ExpiryInterval <= 0 {
		opts.ExpiryInterval = max(opts.TTL/3, time.Millisecond)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Registry{st: st, log: opts.Logger, ttl: opts.TTL, interval: opts.ExpiryInterval, now: opts.Now,
		idx: newIndex(), changed: map[ServiceName]bool{}, notify: make(chan struct{}, 1)}
}

// TTL is the longest lease a registered instance gets.
func (r *Registry) TTL() time.Duration { return r.ttl }

// Run loads the registry, then follows the store and sweeps expired
// instances until ctx ends.
func (r *Registry) Run(ctx context.Context) error {
	go r.expireLoop(ctx)
	for {
		rev, err := r.load(ctx)
		if err != nil {
			return err
		}
		err = r.follow(ctx, rev)
		if ctx.Err() != nil {
			return nil
		}
		if !errors.Is(err, store.ErrCompacted) {
			return err
		}
		r.log.Warn("registry fell behind the store's history; reloading", "revision", rev)
	}
}

func (r *Registry) load(ctx context.Context) (int64, error) {
	kvs, rev, err := r.st.List(ctx, KeyPrefix, store.ListOptions{})
	if err != nil {
		return 0, fmt.Errorf("registry: list store: %w", err)
	}
	idx := newIndex()
	for _, kv := range kvs {
		if err := idx.apply(store.Event{Type: store.EventPut, KV: kv}); err != nil {
			r.log.Error("registry: skipping undecodable record", "key", kv.Key, "err", err)
		}
	}
	// After a (re)load the history of deletions is unknown: every
	// service's InstancesRevision starts at the load's revision, at or
	// above every value reported before, so it never goes back to a value
	// that stood for another set of instances.
	for id := range idx.svc {
		idx.svcRev[id] = rev
	}
	r.mu.Lock()
	old := r.idx
	r.idx, r.rev = idx, rev
	for _, n := range append(old.serviceNames(), idx.serviceNames()...) {
		r.changed[n] = true
	}
	r.mu.Unlock()
	r.signal()
	return rev, nil
}

func (r *Registry) follow(ctx context.Context, rev int64) error {
	ch, err := r.st.Watch(ctx, KeyPrefix, rev)
	if err != nil {
		return fmt.Errorf("registry: watch store: %w", err)
	}
	for resp := range ch {
		if resp.Err != nil {
			return resp.Err
		}
		r.mu.Lock()
		idx := r.idx.clone()
		for _, ev := range resp.Events {
			for _, n := range idx.changes(ev) {
				r.changed[n] = true
			}
			if err := idx.apply(ev); err != nil {
				r.log.Error("registry: skipping undecodable record", "key", ev.KV.Key, "err", err)
			}
		}
		r.idx, r.rev = idx, resp.Revision
		n := len(r.changed)
		r.mu.Unlock()
		if n > 0 {
			r.signal()
		}
	}
	if ctx.Err() != nil {
		return nil
	}
	return errors.New("registry: store watch ended")
}

func (r *Registry) signal() {
	select {
	case r.notify <- struct{}{}:
	default:
	}
}

// Next waits until some services' endpoints may have changed and returns
// them (namespace and service names). Changes coalesce between calls.
func (r *Registry) Next(ctx context.Context) ([]ServiceName, error) {
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-r.notify:
		}
		r.mu.Lock()
		out := slices.Collect(maps.Keys(r.changed))
		r.changed = map[ServiceName]bool{}
		r.mu.Unlock()
		if len(out) > 0 {
			slices.SortFunc(out, func(a, b ServiceName) int {
				return strings.Compare(a.Namespace+"\x00"+a.Service, b.Namespace+"\x00"+b.Service)
			})
			return out, nil
		}
	}
}

// WaitRevision blocks until the index has applied store revision rev.
func (r *Registry) WaitRevision(ctx context.Context, rev int64) error {
	for {
		r.mu.RLock()
		cur := r.rev
		r.mu.RUnlock()
		if cur >= rev {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
}

// Lookup returns the endpoints of the instances of namespace/service whose
// attributes include every given pair, sorted by address then port. The
// address is AWS_INSTANCE_IPV4, else AWS_INSTANCE_IPV6; the port is
// AWS_INSTANCE_PORT (0 when absent or unparsable). Instances without an
// address are left out. It reads only the in-memory index.
func (r *Registry) Lookup(namespace, service string, attributes map[string]string) []ir.Endpoint {
	r.mu.RLock()
	idx := r.idx
	r.mu.RUnlock()
	var out []ir.Endpoint
	for _, in := range idx.instancesOf(namespace, service) {
		if !matches(in.Attributes, attributes) {
			continue
		}
		addr := in.Attributes[AttrIPv4]
		if addr == "" {
			addr = in.Attributes[AttrIPv6]
		}
		if addr == "" {
			continue
		}
		port, err := strconv.ParseUint(in.Attributes[AttrPort], 10, 16)
		if err != nil {
			port = 0
		}
		out = append(out, ir.Endpoint{Address: addr, Port: uint32(port), Unhealthy: in.Health == Unhealthy})
	}
	slices.SortFunc(out, func(a, b ir.Endpoint) int {
		if c := strings.Compare(a.Address, b.Address); c != 0 {
			return c
		}
		return int(a.Port) - int(b.Port)
	})
	return out
}

// matches reports whether attrs include every pair of want.
func matches(attrs, want map[string]string) bool {
	for k, v := range want {
		if got, ok := attrs[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// expireLoop sweeps expired instances every interval.
func (r *Registry) expireLoop(ctx context.Context) {
	t := time.NewTicker(r.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if n, err := r.ExpireOnce(ctx); err != nil && ctx.Err() == nil {
			r.log.Warn("registry: expiry sweep failed", "err", err)
		} else if n > 0 {
			r.log.Info("registry: expired instances", "count", n)
		}
	}
}

// ExpireOnce deletes every leased instance (AttrTTL) of the index whose
// last heartbeat is older than its TTL. Each deletion is guarded by the instance's
// modification revision, so a heartbeat that lands concurrently wins and
// the instance stays. It returns how many instances it deleted.
func (r *Registry) ExpireOnce(ctx context.Context) (int, error) {
	r.mu.RLock()
	idx := r.idx
	r.mu.RUnlock()
	now := r.now()
	n := 0
	var errs []error
	for _, in := range idx.allInstances() {
		if !expired(in.Instance, now) {
			continue
		}
		key := instKey(in.ServiceID, in.ID)
		_, err := r.st.Txn(ctx, []store.Compare{store.KeyAt(key, in.modRev)}, []store.Op{store.Del(key)})
		switch {
		case err == nil:
			n++
			r.log.Info("registry: instance expired", "service", in.ServiceID, "instance", in.ID,
				"lastHeartbeat", in.LastHeartbeat)
		case errors.Is(err, store.ErrConflict):
			// heartbeat or deregistration raced us: it wins.
		default:
			errs = append(errs, err)
		}
	}
	return n, errors.Join(errs...)
}

func decode(raw []byte, v any) error { return json.Unmarshal(raw, v) }
