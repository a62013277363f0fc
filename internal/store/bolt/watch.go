package bolt

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	bbolt "go.etcd.io/bbolt"

	"github.com/trellis-mesh/trellis/internal/store"
)

const (
	// watchBuffer is the number of responses a receiver may leave unread
	// before its watcher goroutine waits. Only that goroutine waits: writers
	// and other watchers are never held up.
	watchBuffer = 64
	// maxResponseEvents bounds one response (whole revisions only, so one
	// large revision may exceed it).
	maxResponseEvents = 512
	// maxLogRevisions bounds the revisions scanned per log read, to keep
	// read transactions short when the prefix filters out most events.
	maxLogRevisions = 1024
)

// watcher delivers the changes under prefix after cursor to out. It owns
// its cursor; revisions are read from the hub's ring while it still holds
// cursor+1 and from the log bucket otherwise. Because each read starts
// exactly at cursor+1 and advances the cursor to the last revision read,
// the switch between the log (replay or catch-up) and the ring (live) can
// neither skip nor repeat a revision.
type watcher struct {
	s      *Store
	ctx    context.Context
	prefix string
	cursor int64
	out    chan store.WatchResponse
}

// Watch implements store.Store. A fromRevision older than the retained
// history yields one response with store.ErrCompacted; a negative one is an
// error.
func (s *Store) Watch(ctx context.Context, prefix string, fromRevision int64) (<-chan store.WatchResponse, error) {
	if fromRevision < 0 {
		return nil, fmt.Errorf("store/bolt: watch %q: negative revision %d", prefix, fromRevision)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.closeMu.RUnlock()
	var compacted int64
	err := s.db.View(func(tx *bbolt.Tx) error {
		compacted = decodeRev(tx.Bucket(bucketMeta).Get(metaCompacted))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store/bolt: watch %q: %w", prefix, mapErr(err))
	}
	w := &watcher{s: s, ctx: ctx, prefix: prefix, cursor: fromRevision,
		out: make(chan store.WatchResponse, watchBuffer)}
	// Added under closeMu so that Close, which waits for watchers, cannot
	// start waiting before this watcher is counted.
	s.watches.Add(1)
	if fromRevision < compacted {
		go w.fail(fmt.Errorf("store/bolt: watch from %d, history starts after %d: %w",
			fromRevision, compacted, store.ErrCompacted))
	} else {
		go w.run()
	}
	return w.out, nil
}

// run is the watcher goroutine.
func (w *watcher) run() {
	defer w.s.watches.Done()
	defer close(w.out)
	for {
		c, wake, err := w.next()
		switch {
		case w.ctx.Err() != nil:
			return
		case err != nil:
			w.finish(err)
			return
		case c.upto > w.cursor:
			w.cursor = c.upto
			if len(c.events) > 0 && !w.send(store.WatchResponse{Events: c.events, Revision: c.upto}) {
				return
			}
			continue
		}
		select {
		case <-wake:
		case <-w.ctx.Done():
			return
		case <-w.s.closing:
			w.finish(store.ErrClosed)
			return
		}
	}
}

// next reads the revisions after the cursor from the ring, or from the log
// when the ring has moved past them.
func (w *watcher) next() (chunk, <-chan struct{}, error) {
	c, wake, tooOld := w.s.hub.read(w.cursor, w.prefix, maxResponseEvents)
	if !tooOld {
		return c, wake, nil
	}
	c, err := w.s.readLog(w.cursor, w.prefix)
	if err == nil && c.upto == w.cursor {
		// The ring is ahead of the cursor, so the log must hold cursor+1.
		err = fmt.Errorf("store/bolt: watch: log has no revision %d: %w", w.cursor+1, errCorrupt)
	}
	return c, nil, err
}

// send delivers one response unless the watch ends first.
func (w *watcher) send(resp store.WatchResponse) bool {
	select {
	case w.out <- resp:
		return true
	case <-w.ctx.Done():
		return false
	case <-w.s.closing:
		w.finish(store.ErrClosed)
		return false
	}
}

// fail ends a watch that could not start.
func (w *watcher) fail(err error) {
	defer w.s.watches.Done()
	defer close(w.out)
	w.finish(err)
}

// finish delivers the final response carrying err. ErrClosed is delivered
// only if the buffer has room: Close waits for watchers and must not hang
// on a receiver that stopped reading. Other errors wait for the receiver,
// since it must learn why the watch ended.
func (w *watcher) finish(err error) {
	resp := store.WatchResponse{Revision: w.cursor, Err: err}
	if errors.Is(err, store.ErrClosed) {
		select {
		case w.out <- resp:
		default:
		}
		return
	}
	// Compaction is a normal, recoverable outcome for the receiver (it
	// re-lists); anything else is a backend failure worth a warning.
	level := slog.LevelWarn
	if errors.Is(err, store.ErrCompacted) {
		level = slog.LevelInfo
	}
	w.s.log.Log(context.Background(), level, "watch ended", "prefix", w.prefix, "revision", w.cursor, "err", err)
	select {
	case w.out <- resp:
	case <-w.ctx.Done():
	case <-w.s.closing:
	}
}

// readLog reads the events under prefix after cursor from the log bucket.
func (s *Store) readLog(cursor int64, prefix string) (chunk, error) {
	c := chunk{upto: cursor}
	err := s.view(context.Background(), func(tx *bbolt.Tx) error {
		if compacted := decodeRev(tx.Bucket(bucketMeta).Get(metaCompacted)); cursor < compacted {
			return fmt.Errorf("store/bolt: watcher at revision %d fell behind history starting after %d: %w",
				cursor, compacted, store.ErrCompacted)
		}
		cur := tx.Bucket(bucketLog).Cursor()
		for k, v := cur.Seek(revKey(cursor + 1)); k != nil; k, v = cur.Next() {
			rev := decodeRev(k)
			if rev != c.upto+1 || len(c.events) >= maxResponseEvents || rev-cursor > maxLogRevisions {
				break
			}
			evs, err := decodeEvents(rev, v)
			if err != nil {
				return err
			}
			c.events, c.upto = appendMatching(c.events, evs, prefix), rev
		}
		return nil
	})
	return c, err
}
