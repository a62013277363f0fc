package etcd

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/trellis-mesh/trellis/internal/store"
)

const (
	// watchBuffer is the number of responses a receiver may leave unread
	// before its watcher goroutine waits (etcd's client buffers the rest).
	watchBuffer = 64
	// rewatchDelay is the pause before reopening a broken etcd watch.
	rewatchDelay = 200 * time.Millisecond
)

// errStop ends a watcher without a final response (context cancelled).
var errStop = errors.New("store/etcd: watch stopped")

// watcher delivers the changes under prefix after cursor to out. It owns
// its cursor: the revision of the last event delivered. Every etcd watch
// it opens starts at cursor+1, so reopening one after a broken stream can
// neither skip nor repeat a revision.
type watcher struct {
	s      *Store
	ctx    context.Context
	prefix string
	cursor int64
	out    chan store.WatchResponse
}

// Watch implements store.Store.
func (s *Store) Watch(ctx context.Context, prefix string, fromRevision int64) (<-chan store.WatchResponse, error) {
	if fromRevision < 0 {
		return nil, fmt.Errorf("store/etcd: watch %q: negative revision %d", prefix, fromRevision)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, fmt.Errorf("store/etcd: watch %q: %w", prefix, store.ErrClosed)
	}
	s.watches.Add(1) // under mu, so Close cannot start waiting before
	s.mu.Unlock()
	w := &watcher{s: s, ctx: ctx, prefix: prefix, cursor: fromRevision,
		out: make(chan store.WatchResponse, watchBuffer)}
	go w.run()
	return w.out, nil
}

// run is the watcher goroutine: it reads the read cache's event log while
// that covers its cursor, else (re)opens etcd watches of its own, until the
// watch ends for good.
func (w *watcher) run() {
	defer w.s.watches.Done()
	defer close(w.out)
	for {
		var err error
		if w.s.logCovers(w.cursor) {
			err = w.shared()
		} else {
			err = w.once()
		}
		switch {
		case errors.Is(err, errCovered):
			continue
		case errors.Is(err, errBehind):
			w.s.m.logBehind.Inc()
			continue
		case errors.Is(err, errStop) || w.ctx.Err() != nil:
			return
		case errors.Is(err, store.ErrClosed), errors.Is(err, store.ErrCompacted):
			w.finish(err)
			return
		}
		w.s.log.Debug("etcd watch broke; reopening", "prefix", w.prefix, "revision", w.cursor, "err", err)
		w.s.m.rewatches.Inc()
		select {
		case <-time.After(rewatchDelay):
		case <-w.ctx.Done():
			return
		case <-w.s.closing:
			w.finish(store.ErrClosed)
			return
		}
	}
}

// once opens one etcd watch from cursor+1 and delivers its events until it
// breaks, or until the read cache's event log covers the cursor
// (errCovered: run continues from the log, sharedwatch.go). WithRequireLeader ends the watch when its member loses the
// cluster's leader, so a cut-off member cannot stall the watch silently.
func (w *watcher) once() error {
	ctx, cancel := context.WithCancel(clientv3.WithRequireLeader(w.ctx))
	defer cancel()
	wch := w.s.cli.Watch(ctx, w.s.prefix+w.prefix, clientv3.WithPrefix(),
		clientv3.WithRev(w.cursor+1), clientv3.WithPrevKV())
	for {
		select {
		case resp, ok := <-wch:
			if !ok {
				return errors.New("etcd watch channel closed")
			}
			if resp.CompactRevision != 0 || errors.Is(resp.Err(), rpctypes.ErrCompacted) {
				return fmt.Errorf("store/etcd: watch %q from %d, history starts at %d: %w",
					w.prefix, w.cursor, resp.CompactRevision, store.ErrCompacted)
			}
			if err := resp.Err(); err != nil {
				return err
			}
			if len(resp.Events) == 0 {
				continue
			}
			evs := w.events(resp.Events)
			w.cursor = evs[len(evs)-1].KV.ModRevision
			if err := w.send(store.WatchResponse{Events: evs, Revision: w.cursor}); err != nil {
				return err
			}
			if w.s.logCovers(w.cursor) {
				return errCovered
			}
		case <-w.ctx.Done():
			return errStop
		case <-w.s.closing:
			return store.ErrClosed
		}
	}
}

// events converts etcd events. A response holds whole revisions, so its
// last event's revision is the one it is complete up to.
func (w *watcher) events(in []*clientv3.Event) []store.Event {
	out := make([]store.Event, 0, len(in))
	for _, ev := range in {
		e := store.Event{Type: store.EventPut, KV: w.s.kv(ev.Kv)}
		if ev.Type == mvccpb.DELETE {
			e.Type, e.KV.Value, e.KV.CreateRevision = store.EventDelete, nil, 0
			if ev.PrevKv != nil {
				e.PrevValue = ev.PrevKv.Value
			}
		}
		out = append(out, e)
	}
	return out
}

// send delivers one response unless the watch ends first.
func (w *watcher) send(resp store.WatchResponse) error {
	select {
	case w.out <- resp:
		return nil
	case <-w.ctx.Done():
		return errStop
	case <-w.s.closing:
		return store.ErrClosed
	}
}

// finish delivers the final response carrying err. ErrClosed is delivered
// only if the buffer has room: Close waits for watchers and must not hang
// on a receiver that stopped reading.
func (w *watcher) finish(err error) {
	resp := store.WatchResponse{Revision: w.cursor, Err: err}
	if errors.Is(err, store.ErrClosed) {
		select {
		case w.out <- resp:
		default:
		}
		return
	}
	w.s.log.Info("watch ended", "prefix", w.prefix, "revision", w.cursor, "err", err)
	select {
	case w.out <- resp:
	case <-w.ctx.Done():
	case <-w.s.closing:
	}
}
