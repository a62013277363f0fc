package etcd

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/trellis-mesh/trellis/internal/store"
	"github.com/trellis-mesh/trellis/internal/store/etcd/etcdtest"
)

// TestSharedWatchLogBound: a watch served from the read cache's event log
// whose receiver stops reading falls behind the log at its bound, reads
// etcd with a watch of its own, and comes back to the log; the receiver
// sees every change under its prefix once, in order, deletes with their
// previous value, and nothing outside the prefix.
func TestSharedWatchLogBound(t *testing.T) {
	c := etcdtest.Start(t, 3)
	const logCap, writes = 8, 400
	s, err := Open(t.Context(), Options{Endpoints: c.Endpoints(), Prefix: "/shared/", ReadCache: true, watchLogCap: logCap})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	rev, err := s.Revision(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	waitCovered(t, s, rev)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	ch, err := s.Watch(ctx, "k/", rev)
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	var want []store.Event
	for i := range writes {
		key := fmt.Sprintf("k/%d", i%50)
		var ops []store.Op
		ev := store.Event{Type: store.EventPut, KV: store.KV{Key: key, Value: []byte(fmt.Sprint(i))}}
		switch {
		case i%7 == 3 && i >= 50:
			ops = []store.Op{store.Del(key)}
			ev = store.Event{Type: store.EventDelete, KV: store.KV{Key: key}, PrevValue: lastValue(want, key)}
		case i%5 == 0:
			ops = []store.Op{store.Put("x/"+key, []byte("outside"))} // not under k/
		default:
			ops = []store.Op{store.Put(key, ev.KV.Value)}
		}
		r, err := s.Txn(t.Context(), nil, ops)
		if err != nil {
			t.Fatalf("Txn %d: %v", i, err)
		}
		if i%5 == 0 && !(i%7 == 3 && i >= 50) {
			continue
		}
		if ev.Type == store.EventDelete && ev.PrevValue == nil {
			continue // deleting an absent key: etcd records nothing
		}
		ev.KV.ModRevision = r
		want = append(want, ev)
	}
	got := collect(t, ch, len(want))
	for i := range want {
		w, g := want[i], got[i]
		if g.Type != w.Type || g.KV.Key != w.KV.Key || g.KV.ModRevision != w.KV.ModRevision ||
			!bytes.Equal(g.KV.Value, w.KV.Value) || !bytes.Equal(g.PrevValue, w.PrevValue) {
			t.Fatalf("event %d: got %+v, want %+v", i, g, w)
		}
	}
	if n := testutil.ToFloat64(s.m.logBehind); n < 1 {
		t.Errorf("trellis_etcd_watch_log_fallbacks_total = %v, want ≥ 1 (the receiver stalled past the bound)", n)
	}
	if n := testutil.ToFloat64(s.m.logSize); n > logCap {
		t.Errorf("trellis_etcd_watch_log_entries = %v, above the bound %d", n, logCap)
	}
	if !s.logCovers(want[len(want)-1].KV.ModRevision) {
		t.Error("the log does not cover the last revision")
	}
}

// lastValue is the value of key's last put in evs (nil: none, or deleted).
func lastValue(evs []store.Event, key string) []byte {
	for i := len(evs) - 1; i >= 0; i-- {
		if evs[i].KV.Key == key {
			if evs[i].Type == store.EventDelete {
				return nil
			}
			return evs[i].KV.Value
		}
	}
	return nil
}

// waitCovered waits until the read cache's event log covers rev.
func waitCovered(t *testing.T, s *Store, rev int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !s.logCovers(rev) {
		if time.Now().After(deadline) {
			t.Fatalf("the event log does not cover %d", rev)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// collect reads n events from ch.
func collect(t *testing.T, ch <-chan store.WatchResponse, n int) []store.Event {
	t.Helper()
	var out []store.Event
	timeout := time.After(30 * time.Second)
	for len(out) < n {
		select {
		case resp, ok := <-ch:
			if !ok || resp.Err != nil {
				t.Fatalf("watch ended after %d of %d events: %v", len(out), n, resp.Err)
			}
			out = append(out, resp.Events...)
		case <-timeout:
			t.Fatalf("%d of %d events within 30 s", len(out), n)
		}
	}
	return out
}
