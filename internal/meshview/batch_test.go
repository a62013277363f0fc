package meshview

import (
	"fmt"
	"io"
	"log/slog"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/trellis-mesh/trellis/internal/store"
)

// meshEvent is a put of mesh name at revision rev, as the store holds it.
func meshEvent(name string, rev int64) store.Event {
	v := fmt.Sprintf(`{"kind":1,"mesh":%q,"name":%q,"spec":{},"metadata":{},"status":"ACTIVE"}`, name, name)
	return store.Event{Type: store.EventPut, KV: store.KV{Key: "appmesh/meshes/" + name, Value: []byte(v), ModRevision: rev}}
}

// TestApplyQueuedBound: responses already queued go into one snapshot, at
// most maxBatch of them; the rest go into the next one, and responses
// without events neither count nor move the revision.
func TestApplyQueuedBound(t *testing.T) {
	for _, tc := range []struct {
		name                string
		queued              int // responses with one event each, revisions 1..queued
		wantFirst, wantNext int64
	}{
		{name: "one", queued: 1, wantFirst: 1},
		{name: "below the bound", queued: maxBatch - 1, wantFirst: maxBatch - 1},
		{name: "at the bound", queued: maxBatch, wantFirst: maxBatch},
		{name: "above the bound", queued: maxBatch + 44, wantFirst: maxBatch, wantNext: maxBatch + 44},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := New(nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
			ch := make(chan store.WatchResponse, tc.queued+1)
			for i := 1; i <= tc.queued; i++ {
				ch <- store.WatchResponse{Revision: int64(i), Events: []store.Event{meshEvent(fmt.Sprintf("m%d", i), int64(i))}}
			}
			ch <- store.WatchResponse{Revision: int64(tc.queued)} // no events (a progress)
			close(ch)
			first := <-ch
			b := newBuilder(nil)
			last, err := v.applyQueued(b, first, ch)
			if err != nil || last != tc.wantFirst {
				t.Fatalf("first batch: revision %d, %v; want %d", last, err, tc.wantFirst)
			}
			s, _ := b.build(last)
			if got := len(s.MeshNames()); got != int(tc.wantFirst) {
				t.Errorf("first snapshot has %d meshes, want %d", got, tc.wantFirst)
			}
			next := <-ch
			last, err = v.applyQueued(newBuilder(s), next, ch)
			if err != nil || last != tc.wantNext {
				t.Fatalf("second batch: revision %d, %v; want %d", last, err, tc.wantNext)
			}
			if got := testutil.ToFloat64(v.responses); got != float64(tc.queued) {
				t.Errorf("trellis_meshview_watch_responses_total = %v, want %d", got, tc.queued)
			}
		})
	}
}

// TestApplyQueuedError: a queued response carrying an error ends the
// batch with the revision applied so far and the error.
func TestApplyQueuedError(t *testing.T) {
	v := New(nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ch := make(chan store.WatchResponse, 2)
	ch <- store.WatchResponse{Revision: 2, Events: []store.Event{meshEvent("b", 2)}}
	ch <- store.WatchResponse{Err: store.ErrCompacted}
	last, err := v.applyQueued(newBuilder(nil), store.WatchResponse{Revision: 1, Events: []store.Event{meshEvent("a", 1)}}, ch)
	if last != 2 || err != store.ErrCompacted {
		t.Fatalf("got %d, %v; want 2, ErrCompacted", last, err)
	}
}
