package etcd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/trellis-mesh/trellis/internal/store"
)

// cacheWait bounds how long a cached Get waits for the cache to reach the
// fence revision before it reads etcd directly instead.
const cacheWait = time.Second

// readCache serves linearizable Gets, Lists and Counts from memory: a copy of every key
// under the prefix, kept current by a watch of the whole keyspace (so that
// every etcd revision is seen, including writes outside the prefix).
//
// A Get first obtains a fence: the etcd revision read by a linearizable
// request that started after the Get was called. Every write acknowledged
// before the call has a revision at or below it, so once the cache has
// applied the fence revision, its answer is linearizable. Concurrent Gets
// share fence requests (fencer), which is what makes the cache cheaper
// than one etcd read per Get.
//
// The cache is owned by its Store (Options.ReadCache), bounded by the data
// under the prefix, and invalidated only by etcd compaction (it reloads).
type readCache struct {
	s      *Store
	fencer fencer

	mu      sync.Mutex
	kvs     map[string]store.KV // by key without the prefix
	keys    []string            // the keys of kvs, sorted (List, Count)
	applied int64               // every revision up to here is applied
	changed chan struct{}       // closed and replaced after each apply
	log     eventLog            // recent events, for Watch (sharedwatch.go)
}

func newReadCache(s *Store) *readCache {
	c := &readCache{s: s, kvs: map[string]store.KV{}, changed: make(chan struct{}),
		log: eventLog{cap: s.logCap, size: s.m.logSize}}
	c.fencer.rev = func(ctx context.Context) (int64, error) {
		s.m.fences.Inc()
		return s.rawRevision(ctx)
	}
	c.fencer.ctx = s.life
	return c
}

// read runs fn on the cache, under its lock, once the cache has caught
// up with a fresh fence; ok is false when it could not within cacheWait
// (the caller reads etcd instead).
func (c *readCache) read(ctx context.Context, fn func()) (ok bool, err error) {
	sess := sessionOf(ctx)
	var fence int64
	if sess != nil {
		fence = sess.get()
		if sess.unfencedRead() {
			// An optimistic writer's read (store.OptimisticReads): the
			// copy as it is; its Txn's comparisons check it.
			c.s.m.unfenced.Inc()
			c.mu.Lock()
			defer c.mu.Unlock()
			fn()
			return true, nil
		}
	}
	if fence == 0 {
		if fence, err = c.fencer.wait(ctx); err != nil {
			return false, err
		}
		if sess != nil {
			sess.raise(fence)
		}
	}
	wctx, cancel := context.WithTimeout(ctx, cacheWait)
	defer cancel()
	for {
		c.mu.Lock()
		if c.applied >= fence {
			fn()
			c.mu.Unlock()
			return true, nil
		}
		ch := c.changed
		c.mu.Unlock()
		select {
		case <-ch:
		case <-wctx.Done():
			if ctx.Err() == nil {
				c.s.m.fallbacks.Inc()
			}
			return false, nil
		}
	}
}

// get is a linearizable Get from the cache.
func (c *readCache) get(ctx context.Context, key string) (kv store.KV, found, ok bool, err error) {
	ok, err = c.read(ctx, func() { kv, found = c.kvs[key] })
	kv.Value = bytes.Clone(kv.Value)
	return kv, found, ok, err
}

// span returns the index range of keys starting with prefix; c.mu held.
func (c *readCache) span(prefix string) (int, int) {
	lo, _ := slices.BinarySearch(c.keys, prefix)
	hi := len(c.keys)
	if end := clientv3.GetPrefixRangeEnd(prefix); end != "\x00" {
		hi, _ = slices.BinarySearch(c.keys, end)
	}
	return lo, hi
}

// count is a linearizable Count from the cache.
func (c *readCache) count(ctx context.Context, prefix string) (n int64, ok bool, err error) {
	ok, err = c.read(ctx, func() {
		lo, hi := c.span(prefix)
		n = int64(hi - lo)
	})
	return n, ok, err
}

// list is a linearizable List from the cache, read at the revision the
// cache had applied (a consistent cut: whole revisions are applied).
func (c *readCache) list(ctx context.Context, prefix string, opts store.ListOptions) (kvs []store.KV, rev int64, ok bool, err error) {
	ok, err = c.read(ctx, func() {
		lo, hi := c.span(prefix)
		if opts.After >= prefix {
			i, found := slices.BinarySearch(c.keys, opts.After)
			if found {
				i++
			}
			lo = max(lo, i)
		}
		if opts.Limit > 0 && hi-lo > opts.Limit {
			hi = lo + opts.Limit
		}
		kvs = make([]store.KV, 0, max(hi-lo, 0))
		for _, k := range c.keys[lo:max(hi, lo)] {
			kv := c.kvs[k]
			kv.Value = bytes.Clone(kv.Value)
			kvs = append(kvs, kv)
		}
		rev = c.applied
	})
	return kvs, rev, ok, err
}

// run keeps the cache current until ctx ends.
func (c *readCache) run(ctx context.Context) {
	for ctx.Err() == nil {
		err := c.load(ctx)
		if err == nil {
			err = c.follow(ctx)
		}
		if ctx.Err() != nil {
			return
		}
		c.s.log.Debug("etcd read cache: reloading", "err", err)
		select {
		case <-time.After(rewatchDelay):
		case <-ctx.Done():
		}
	}
}

// load replaces the cache with a full read of the prefix.
func (c *readCache) load(ctx context.Context) error {
	kvs, rev, err := c.s.listDirect(ctx, "", store.ListOptions{})
	if err != nil {
		return err
	}
	m := make(map[string]store.KV, len(kvs))
	keys := make([]string, 0, len(kvs))
	for _, kv := range kvs {
		m[kv.Key] = kv
		keys = append(keys, kv.Key) // List returns them sorted
	}
	c.mu.Lock()
	c.kvs, c.keys = m, keys
	c.log.reset(rev)
	c.publish(rev)
	c.mu.Unlock()
	return nil
}

// publish advances applied and wakes waiters; c.mu must be held.
func (c *readCache) publish(rev int64) {
	c.applied = max(c.applied, rev)
	close(c.changed)
	c.changed = make(chan struct{})
}

// follow applies the events of every key after the loaded revision,
// reopening the watch from the last applied revision when it breaks. It
// returns on compaction (the caller reloads) or when ctx ends.
func (c *readCache) follow(ctx context.Context) error {
	for {
		c.mu.Lock()
		from := c.applied
		c.mu.Unlock()
		err := c.watchOnce(ctx, from)
		if ctx.Err() != nil || errors.Is(err, store.ErrCompacted) {
			return err
		}
		c.s.m.rewatches.Inc()
		select {
		case <-time.After(rewatchDelay):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (c *readCache) watchOnce(ctx context.Context, from int64) error {
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	// An empty key with WithPrefix watches the whole keyspace.
	wch := c.s.cli.Watch(wctx, "", clientv3.WithPrefix(), clientv3.WithRev(from+1))
	for resp := range wch {
		if resp.CompactRevision != 0 {
			return fmt.Errorf("read cache at %d: %w", from, store.ErrCompacted)
		}
		if err := resp.Err(); err != nil {
			return err
		}
		if len(resp.Events) > 0 {
			c.apply(resp.Events)
		}
	}
	return errors.New("watch channel closed")
}

// apply applies one watch response's events to the cache and records
// those under the prefix in the event log, deletes with the value they
// removed.
func (c *readCache) apply(evs []*clientv3.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var logged []store.Event
	for _, ev := range evs {
		k := string(ev.Kv.Key)
		if !strings.HasPrefix(k, c.s.prefix) {
			continue
		}
		key := k[len(c.s.prefix):]
		e := store.Event{Type: store.EventPut, KV: c.s.kv(ev.Kv)}
		i, found := slices.BinarySearch(c.keys, key)
		switch {
		case ev.Type == mvccpb.DELETE:
			e.Type, e.KV.Value, e.KV.CreateRevision = store.EventDelete, nil, 0
			if found {
				e.PrevValue = c.kvs[key].Value
				delete(c.kvs, key)
				c.keys = slices.Delete(c.keys, i, i+1)
			}
		case found:
			c.kvs[key] = e.KV
		default:
			c.kvs[key] = e.KV
			c.keys = slices.Insert(c.keys, i, key)
		}
		logged = append(logged, e)
	}
	if len(logged) > 0 {
		c.log.add(logEntry{rev: logged[len(logged)-1].KV.ModRevision, events: logged})
	}
	c.publish(evs[len(evs)-1].Kv.ModRevision)
}

// fencer shares linearizable revision reads among concurrent callers: a
// caller joins the next read that starts after it arrived (never one
// already in flight, which might predate a write acknowledged before the
// call).
type fencer struct {
	rev func(ctx context.Context) (int64, error) // one linearizable read

	mu      sync.Mutex
	next    *fenceCall
	running bool
	wg      sync.WaitGroup
	ctx     context.Context // the owner's lifetime; set before use
}

type fenceCall struct {
	done chan struct{}
	rev  int64
	err  error
}

// wait returns a revision read after the call.
func (f *fencer) wait(ctx context.Context) (int64, error) {
	f.mu.Lock()
	if f.next == nil {
		f.next = &fenceCall{done: make(chan struct{})}
	}
	call := f.next
	if f.ctx.Err() != nil {
		f.mu.Unlock()
		return 0, store.ErrClosed
	}
	if !f.running {
		f.running, f.next = true, nil
		f.wg.Go(func() { f.loop(call) })
	}
	f.mu.Unlock()
	select {
	case <-call.done:
		return call.rev, call.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// stop waits for the fence goroutine; the owner has cancelled f.ctx, so
// no new one starts after the lock is taken.
func (f *fencer) stop() {
	f.mu.Lock()
	f.mu.Unlock() // an empty critical section: it orders stop after any start
	f.wg.Wait()
}

// loop runs fence reads back to back while callers keep joining.
func (f *fencer) loop(call *fenceCall) {
	for call != nil {
		call.rev, call.err = f.rev(f.ctx)
		close(call.done)
		f.mu.Lock()
		call, f.next = f.next, nil
		if call == nil {
			f.running = false
		} else {
			f.running = true
		}
		f.mu.Unlock()
	}
}
