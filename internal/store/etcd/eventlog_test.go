package etcd

import (
	"slices"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/trellis-mesh/trellis/internal/store"
)

func put(key string, rev int64) store.Event {
	return store.Event{Type: store.EventPut, KV: store.KV{Key: key, Value: []byte(key), ModRevision: rev}}
}

// keysRevs renders a response as "key@rev" strings.
func keysRevs(resp store.WatchResponse) []string {
	var out []string
	for _, ev := range resp.Events {
		out = append(out, ev.KV.Key+"@"+string(rune('0'+ev.KV.ModRevision)))
	}
	return out
}

// TestEventLogRead: reads filter by prefix and by cursor inside an entry
// (one etcd response may hold several revisions), move past entries
// without matching events, and refuse cursors the log does not cover.
func TestEventLogRead(t *testing.T) {
	l := eventLog{cap: 100, size: prometheus.NewGauge(prometheus.GaugeOpts{Name: "x"})}
	if _, ok := l.read("", 0); ok {
		t.Fatal("a log before its first load covers revision 0")
	}
	l.reset(1)
	l.add(logEntry{rev: 3, events: []store.Event{put("k/a", 2), put("x/b", 3)}})
	l.add(logEntry{rev: 5, events: []store.Event{put("x/c", 4), put("k/d", 5), put("k/e", 5)}})
	l.add(logEntry{rev: 6, events: []store.Event{put("x/f", 6)}})
	for _, tc := range []struct {
		name   string
		prefix string
		cursor int64
		ok     bool
		want   []string
		rev    int64
	}{
		{"before base", "", 0, false, nil, 0},
		{"all", "", 1, true, []string{"k/a@2", "x/b@3", "x/c@4", "k/d@5", "k/e@5", "x/f@6"}, 6},
		{"prefix", "k/", 1, true, []string{"k/a@2", "k/d@5", "k/e@5"}, 5},
		{"inside an entry", "", 2, true, []string{"x/b@3", "x/c@4", "k/d@5", "k/e@5", "x/f@6"}, 6},
		{"prefix inside an entry", "k/", 2, true, []string{"k/d@5", "k/e@5"}, 5},
		{"nothing under prefix: move past", "k/", 5, true, nil, 6},
		{"up to date", "", 6, true, nil, 0},
		{"ahead of the log", "", 9, true, nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, ok := l.read(tc.prefix, tc.cursor)
			if ok != tc.ok || !slices.Equal(keysRevs(resp), tc.want) || resp.Revision != tc.rev {
				t.Fatalf("read(%q, %d) = %v %d %v; want %v %d %v", tc.prefix, tc.cursor,
					keysRevs(resp), resp.Revision, ok, tc.want, tc.rev, tc.ok)
			}
		})
	}
}

// TestEventLogBound: at its bound the log drops its oldest quarter and
// stops covering their revisions; trim (compaction) does the same.
func TestEventLogBound(t *testing.T) {
	l := eventLog{cap: 8, size: prometheus.NewGauge(prometheus.GaugeOpts{Name: "x"})}
	l.reset(0)
	for rev := int64(1); rev <= 8; rev++ {
		l.add(logEntry{rev: rev, events: []store.Event{put("k", rev)}})
	}
	if !l.covers(0) || len(l.entries) != 8 {
		t.Fatalf("at the bound: covers(0)=%v, %d entries", l.covers(0), len(l.entries))
	}
	l.add(logEntry{rev: 9, events: []store.Event{put("k", 9)}})
	if l.covers(1) || !l.covers(2) || len(l.entries) != 7 || l.base != 2 {
		t.Fatalf("past the bound: covers(1)=%v covers(2)=%v, %d entries, base %d; want false true 7 2",
			l.covers(1), l.covers(2), len(l.entries), l.base)
	}
	l.trim(5)
	if l.covers(4) || !l.covers(5) || len(l.entries) != 4 || l.entries[0].rev != 6 {
		t.Fatalf("after trim(5): covers(4)=%v covers(5)=%v, %d entries", l.covers(4), l.covers(5), len(l.entries))
	}
}
