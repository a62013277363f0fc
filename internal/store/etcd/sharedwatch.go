package etcd

import (
	"bytes"
	"errors"
	"sort"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/trellis-mesh/trellis/internal/store"
)

// watchLogCap bounds the watch responses the shared event log keeps.
const watchLogCap = 4096

// sharedBatch bounds the log entries one shared watch response merges.
const sharedBatch = 256

// errBehind ends a shared watch whose cursor the log no longer covers
// (evicted, or the cache reloaded); the watcher reopens its own etcd watch.
var errBehind = errors.New("store/etcd: watch fell behind the shared event log")

// errCovered ends a watcher's own etcd watch once the shared log covers its
// cursor; the watcher continues from the log.
var errCovered = errors.New("store/etcd: watch caught up with the shared event log")

// eventLog is the read cache's recent history, so that every Watch of a
// Store with a read cache is served from the cache's one etcd watch instead
// of an etcd watch (with previous values) of its own: etcd then sends each
// change to a replica once, not once per stage, and no prevKV lookups.
//
// It holds every event under the prefix with a revision after base and up
// to the cache's applied revision, one entry per etcd response that had
// any, deletes carrying the previous value from the cache. Owner: the read
// cache (guarded by its mu). Bound: watchLogCap entries; the oldest quarter
// goes at the bound, and base moves up to it. Invalidated by a reload of
// the cache (base is the loaded revision) and by Store.Compact (base moves
// up so watches from compacted revisions still end with ErrCompacted).
type eventLog struct {
	valid   bool // false until the cache's first load
	base    int64
	entries []logEntry
	cap     int
	size    prometheus.Gauge // len(entries)
}

// logEntry is the events under the prefix of one etcd watch response
// (whole revisions); rev is the last one's.
type logEntry struct {
	rev    int64
	events []store.Event
}

// reset empties the log at rev (a load of the cache).
func (l *eventLog) reset(rev int64) {
	l.valid, l.base, l.entries = true, rev, l.entries[:0]
	l.size.Set(0)
}

// covers reports whether the log holds every event after cursor that the
// cache has applied.
func (l *eventLog) covers(cursor int64) bool { return l.valid && cursor >= l.base }

// add appends an entry, evicting the oldest quarter at the bound.
func (l *eventLog) add(e logEntry) {
	if len(l.entries) >= l.cap {
		n := max(l.cap/4, 1)
		l.base = l.entries[n-1].rev
		l.entries = append(l.entries[:0], l.entries[n:]...)
	}
	l.entries = append(l.entries, e)
	l.size.Set(float64(len(l.entries)))
}

// trim forgets the entries at or below rev.
func (l *eventLog) trim(rev int64) {
	if !l.valid || rev <= l.base {
		return
	}
	i := sort.Search(len(l.entries), func(i int) bool { return l.entries[i].rev > rev })
	l.base = rev
	l.entries = append(l.entries[:0], l.entries[i:]...)
	l.size.Set(float64(len(l.entries)))
}

// read returns the events under prefix after cursor (of at most
// sharedBatch entries), as one response; ok is false when the log does not
// cover cursor. Values are copies: receivers own what they get.
func (l *eventLog) read(prefix string, cursor int64) (resp store.WatchResponse, ok bool) {
	if !l.covers(cursor) {
		return resp, false
	}
	i := sort.Search(len(l.entries), func(i int) bool { return l.entries[i].rev > cursor })
	for _, e := range l.entries[i:min(len(l.entries), i+sharedBatch)] {
		for _, ev := range e.events {
			if ev.KV.ModRevision <= cursor || !strings.HasPrefix(ev.KV.Key, prefix) {
				continue
			}
			ev.KV.Value, ev.PrevValue = bytes.Clone(ev.KV.Value), bytes.Clone(ev.PrevValue)
			resp.Events = append(resp.Events, ev)
		}
		if len(resp.Events) > 0 {
			resp.Revision = resp.Events[len(resp.Events)-1].KV.ModRevision
		}
	}
	if len(resp.Events) == 0 && i < len(l.entries) {
		// Nothing under prefix in the entries read: move past them, so
		// the caller does not read them again.
		resp.Revision = l.entries[min(len(l.entries), i+sharedBatch)-1].rev
	}
	return resp, true
}

// shared delivers the changes under the watcher's prefix from the read
// cache's event log until the watch ends or the log no longer covers the
// cursor (errBehind).
func (w *watcher) shared() error {
	c := w.s.cache
	for {
		c.mu.Lock()
		resp, ok := c.log.read(w.prefix, w.cursor)
		changed := c.changed
		c.mu.Unlock()
		if !ok {
			return errBehind
		}
		if len(resp.Events) > 0 {
			w.cursor = resp.Revision
			if err := w.send(resp); err != nil {
				return err
			}
			continue
		}
		if resp.Revision > w.cursor {
			w.cursor = resp.Revision // entries outside the prefix
			continue
		}
		select {
		case <-changed:
		case <-w.ctx.Done():
			return errStop
		case <-w.s.closing:
			return store.ErrClosed
		}
	}
}

// logCovers reports whether the read cache's event log covers cursor
// (false without a read cache).
func (s *Store) logCovers(cursor int64) bool {
	if s.cache == nil {
		return false
	}
	s.cache.mu.Lock()
	defer s.cache.mu.Unlock()
	return s.cache.log.covers(cursor)
}
