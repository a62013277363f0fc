package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/trellis-mesh/trellis/internal/store"
)

var watchTests = []subtest{
	{"FromNow", testWatchFromNow},
	{"FromZeroReplaysAll", testWatchFromZero},
	{"ReplayThenLive", testWatchReplayThenLive},
	{"PrefixFilter", testWatchPrefix},
	{"DeleteCarriesPrevValue", testWatchDelete},
	{"ReplayLiveHandoff", testWatchHandoff},
	{"UnreadWatcherLosesNothing", testWatchUnread},
	{"ContextCancelCloses", testWatchCancel},
	{"StoreCloseEndsWatch", testWatchClose},
}

// watcher wraps a watch channel with the suite's checks: responses in
// revision order, Revision covering the events, no Err while running.
type watcher struct {
	t       *testing.T
	ch      <-chan store.WatchResponse
	lastRev int64
	pending []store.Event
}

func watch(t *testing.T, s store.Store, prefix string, from int64) *watcher {
	t.Helper()
	ch, err := s.Watch(ctx(t), prefix, from)
	if err != nil {
		t.Fatalf("Watch(%q, %d): %v", prefix, from, err)
	}
	return &watcher{t: t, ch: ch}
}

// watchNow watches for changes after the current revision.
func watchNow(t *testing.T, s store.Store, prefix string) *watcher {
	t.Helper()
	return watch(t, s, prefix, revision(t, s))
}

// next returns the next event, failing on timeout, Err or close.
func (w *watcher) next() store.Event {
	w.t.Helper()
	timeout := time.After(waitTimeout)
	for len(w.pending) == 0 {
		select {
		case resp, ok := <-w.ch:
			if !ok {
				w.t.Fatal("watch channel closed unexpectedly")
			}
			w.check(resp)
			w.pending = resp.Events
		case <-timeout:
			w.t.Fatalf("no watch event within %v (last revision %d)", waitTimeout, w.lastRev)
		}
	}
	ev := w.pending[0]
	w.pending = w.pending[1:]
	return ev
}

// check validates one response's ordering invariants.
func (w *watcher) check(resp store.WatchResponse) {
	w.t.Helper()
	if resp.Err != nil {
		w.t.Fatalf("watch failed: %v", resp.Err)
	}
	for _, ev := range resp.Events {
		if ev.KV.ModRevision < w.lastRev {
			w.t.Fatalf("event at revision %d after revision %d", ev.KV.ModRevision, w.lastRev)
		}
		w.lastRev = ev.KV.ModRevision
	}
	if resp.Revision < w.lastRev {
		w.t.Fatalf("response Revision %d below its events' revision %d", resp.Revision, w.lastRev)
	}
}

// wantEvent checks the next event.
func (w *watcher) wantEvent(typ store.EventType, key, value string, rev int64) store.Event {
	w.t.Helper()
	ev := w.next()
	if ev.Type != typ || ev.KV.Key != key || ev.KV.ModRevision != rev ||
		(typ == store.EventPut && string(ev.KV.Value) != value) {
		w.t.Fatalf("got %s %q=%q at %d, want %s %q=%q at %d",
			ev.Type, ev.KV.Key, ev.KV.Value, ev.KV.ModRevision, typ, key, value, rev)
	}
	return ev
}

// waitClosed drains the channel until it closes and returns the last Err.
func waitClosed(t *testing.T, ch <-chan store.WatchResponse) error {
	t.Helper()
	timeout := time.After(waitTimeout)
	var last error
	for {
		select {
		case resp, ok := <-ch:
			if !ok {
				return last
			}
			if resp.Err != nil {
				last = resp.Err
			}
		case <-timeout:
			t.Fatalf("watch channel not closed within %v", waitTimeout)
		}
	}
}

func testWatchFromNow(t *testing.T, h *harness) {
	s := h.open(t)
	put(t, s, "w/old", "1")
	w := watchNow(t, s, "w/")
	r := put(t, s, "w/new", "2")
	ev := w.wantEvent(store.EventPut, "w/new", "2", r)
	if ev.KV.CreateRevision != r {
		t.Fatalf("CreateRevision %d, want %d", ev.KV.CreateRevision, r)
	}
	r2 := put(t, s, "w/old", "3")
	w.wantEvent(store.EventPut, "w/old", "3", r2)
}

// testWatchFromZero: 0 is an exclusive lower bound like any other
// revision, so a reader that listed an empty store (revision 0) and then
// watches from 0 sees every write made in between.
func testWatchFromZero(t *testing.T, h *harness) {
	s := h.open(t)
	r1 := put(t, s, "z/a", "1")
	w := watch(t, s, "z/", 0)
	w.wantEvent(store.EventPut, "z/a", "1", r1)
	r2 := put(t, s, "z/b", "2")
	w.wantEvent(store.EventPut, "z/b", "2", r2)
}

func testWatchReplayThenLive(t *testing.T, h *harness) {
	s := h.open(t)
	r1 := put(t, s, "w/a", "1")
	r2 := put(t, s, "w/b", "2")
	r3 := mustTxn(t, s, nil, store.Put("w/c", []byte("3")), store.Del("w/a"))
	w := watch(t, s, "w/", r1) // strictly after r1
	w.wantEvent(store.EventPut, "w/b", "2", r2)
	// Both events of r3, in op order.
	w.wantEvent(store.EventPut, "w/c", "3", r3)
	if ev := w.wantEvent(store.EventDelete, "w/a", "", r3); string(ev.PrevValue) != "1" {
		t.Fatalf("replayed delete PrevValue %q, want %q", ev.PrevValue, "1")
	}
	r4 := put(t, s, "w/d", "4")
	w.wantEvent(store.EventPut, "w/d", "4", r4)
}

func testWatchPrefix(t *testing.T, h *harness) {
	s := h.open(t)
	w := watchNow(t, s, "w/")
	all := watchNow(t, s, "")
	put(t, s, "x/1", "no")
	put(t, s, "w", "no")
	put(t, s, "wx", "no")
	r := put(t, s, "w/1", "yes")
	r2 := mustTxn(t, s, nil, store.Put("v", nil), store.Put("w/2", []byte("yes")), store.Put("x", nil))
	w.wantEvent(store.EventPut, "w/1", "yes", r)
	w.wantEvent(store.EventPut, "w/2", "yes", r2)
	for _, k := range []string{"x/1", "w", "wx", "w/1", "v", "w/2", "x"} {
		if ev := all.next(); ev.KV.Key != k {
			t.Fatalf("watch of all keys: got %q, want %q", ev.KV.Key, k)
		}
	}
}

func testWatchDelete(t *testing.T, h *harness) {
	s := h.open(t)
	put(t, s, "w/k", "v1")
	before := put(t, s, "w/k", "v2")
	live := watchNow(t, s, "w/")
	r := mustTxn(t, s, nil, store.Del("w/k"), store.Del("w/absent"))
	for name, w := range map[string]*watcher{"live": live, "replay": watch(t, s, "w/", before)} {
		ev := w.wantEvent(store.EventDelete, "w/k", "", r)
		if ev.KV.Value != nil || string(ev.PrevValue) != "v2" {
			t.Fatalf("%s delete event Value %q PrevValue %q, want nil and %q", name, ev.KV.Value, ev.PrevValue, "v2")
		}
	}
	// The absent key produced no event: the next one is the next write.
	r2 := put(t, s, "w/z", "z")
	live.wantEvent(store.EventPut, "w/z", "z", r2)
}

// testWatchHandoff starts watches from the past while writes keep coming,
// so the backend switches from replay to live delivery mid-stream. Every
// revision must arrive exactly once, in order.
func testWatchHandoff(t *testing.T, h *harness) {
	s := h.open(t)
	start := put(t, s, "h/0", "0")
	const writes = 200
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 1; i <= writes; i++ {
			if _, err := s.Txn(context.Background(), nil, []store.Op{store.Put(fmt.Sprintf("h/%d", i), nil)}); err != nil {
				t.Errorf("writer: %v", err)
				return
			}
		}
	}()
	var ws []*watcher
	for range 4 {
		ws = append(ws, watch(t, s, "h/", start))
		time.Sleep(time.Millisecond) // spread the watches over the writes
	}
	wg.Wait()
	for i, w := range ws {
		for want := int64(1); want <= writes; want++ {
			if ev := w.next(); ev.KV.ModRevision != start+want || ev.KV.Key != fmt.Sprintf("h/%d", want) {
				t.Fatalf("watcher %d: got %q at %d, want h/%d at %d", i, ev.KV.Key, ev.KV.ModRevision, want, start+want)
			}
		}
	}
}

// testWatchUnread leaves a watcher unread while many revisions are written,
// then checks that it still delivers every one of them: a slow watcher may
// be caught up from storage but must not drop events.
func testWatchUnread(t *testing.T, h *harness) {
	s := h.open(t)
	w := watchNow(t, s, "u/")
	quiet := watchNow(t, s, "none/")
	const writes = 1000
	revs := make([]int64, 0, writes)
	for i := range writes {
		revs = append(revs, put(t, s, fmt.Sprintf("u/%d", i%7), fmt.Sprint(i)))
	}
	for i, rev := range revs {
		w.wantEvent(store.EventPut, fmt.Sprintf("u/%d", i%7), fmt.Sprint(i), rev)
	}
	r := put(t, s, "none/x", "")
	quiet.wantEvent(store.EventPut, "none/x", "", r)
}

func testWatchCancel(t *testing.T, h *harness) {
	s := h.open(t)
	c, cancel := context.WithCancel(ctx(t))
	ch, err := s.Watch(c, "", revision(t, s))
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	put(t, s, "k", "v")
	cancel()
	if err := waitClosed(t, ch); err != nil {
		t.Fatalf("cancelled watch ended with Err %v, want none", err)
	}
	put(t, s, "k", "after") // the store is unaffected
}

func testWatchClose(t *testing.T, h *harness) {
	s := h.open(t)
	idle := watchNow(t, s, "")
	replaying := watchNow(t, s, "")
	put(t, s, "k", "v")
	unread := watchNow(t, s, "")
	for i := range 100 {
		put(t, s, "k", fmt.Sprint(i))
	}
	replaying.next()
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for _, w := range []*watcher{idle, replaying, unread} {
		if err := waitClosed(t, w.ch); err != nil && !errors.Is(err, store.ErrClosed) {
			t.Fatalf("watch ended by Close with Err %v, want ErrClosed or none", err)
		}
	}
	if err := s.Close(); err != nil && !errors.Is(err, store.ErrClosed) {
		t.Fatalf("second Close: %v", err)
	}
}
