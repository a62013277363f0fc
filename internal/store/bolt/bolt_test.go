package bolt

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/trellis-mesh/trellis/internal/store"
	"github.com/trellis-mesh/trellis/internal/store/storetest"
)

// factory opens stores with opts in a fresh temp dir. Conformance runs use
// NoSync: durability across a crash is TestCrashDurability's job, and
// fsync per Txn would make the suite slow.
func factory(opts Options) storetest.Factory {
	open := func(t *testing.T, path string) store.Store {
		t.Helper()
		s, err := Open(path, opts)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		return s
	}
	return storetest.Factory{
		New: func(t *testing.T) store.Store {
			return open(t, filepath.Join(t.TempDir(), "trellis.db"))
		},
		Reopen: func(t *testing.T, old store.Store) store.Store {
			if err := old.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			return open(t, old.(*Store).path)
		},
	}
}

func TestConformance(t *testing.T) {
	storetest.Run(t, factory(Options{NoSync: true}))
}

// TestConformanceSmallRing reruns the suite with a tiny in-memory ring, so
// that watchers are mostly served from the log bucket and switch between
// the two all the time.
func TestConformanceSmallRing(t *testing.T) {
	storetest.Run(t, factory(Options{NoSync: true, ringSize: 4}))
}

// openTest opens a store for the package's own tests.
func openTest(t *testing.T, opts Options) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "trellis.db"), opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func putN(t *testing.T, s *Store, n int) (last int64) {
	t.Helper()
	for i := range n {
		rev, err := s.Txn(t.Context(), nil, []store.Op{store.Put(fmt.Sprintf("k/%d", i), nil)})
		if err != nil {
			t.Fatalf("Txn: %v", err)
		}
		last = rev
	}
	return last
}

// watchErr drains a watch and returns its final Err and the revisions seen.
func watchErr(t *testing.T, ch <-chan store.WatchResponse) (revs []int64, err error) {
	t.Helper()
	for resp := range ch {
		for _, ev := range resp.Events {
			revs = append(revs, ev.KV.ModRevision)
		}
		if resp.Err != nil {
			err = resp.Err
		}
	}
	return revs, err
}

func TestHistoryLimitCompacts(t *testing.T) {
	s := openTest(t, Options{NoSync: true, HistoryLimit: 10})
	last := putN(t, s, 30)
	// Trimming is gradual but outpaces writes: history is (last-10, last].
	for from, wantErr := range map[int64]bool{1: true, last - 11: true, last - 10: false, last - 1: false} {
		ctx, cancel := context.WithCancel(t.Context())
		ch, err := s.Watch(ctx, "k/", from)
		if err != nil {
			t.Fatalf("Watch(%d): %v", from, err)
		}
		if wantErr {
			revs, err := watchErr(t, ch)
			if !errors.Is(err, store.ErrCompacted) || len(revs) != 0 {
				t.Fatalf("Watch(%d) of compacted history: events %v, Err %v", from, revs, err)
			}
		} else if resp := <-ch; resp.Err != nil || resp.Events[0].KV.ModRevision != from+1 {
			t.Fatalf("Watch(%d): first response %+v", from, resp)
		}
		cancel()
	}
}

// TestWatcherFallsBehindHistory leaves a watcher unread until the history
// it needs is trimmed: it must deliver what it had, then end with
// ErrCompacted, never skip revisions silently.
func TestWatcherFallsBehindHistory(t *testing.T) {
	s := openTest(t, Options{NoSync: true, HistoryLimit: 20})
	ch, err := s.Watch(t.Context(), "", mustRevision(t, s))
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	last := putN(t, s, 20*watchBuffer)
	var next int64 = 1
	for resp := range ch {
		for _, ev := range resp.Events {
			if ev.KV.ModRevision != next {
				t.Fatalf("event at revision %d, want %d: revisions skipped", ev.KV.ModRevision, next)
			}
			next++
		}
		if resp.Err != nil {
			if !errors.Is(resp.Err, store.ErrCompacted) {
				t.Fatalf("watch ended with %v, want ErrCompacted", resp.Err)
			}
			return
		}
		if next > last {
			// The watcher goroutine kept pace with every write (it only
			// blocks once its buffer is full), so nothing was trimmed
			// under it: nothing to check, and nothing would end the watch.
			t.Skip("watcher never fell behind")
		}
	}
	t.Fatal("watch closed without ErrCompacted")
}

// TestSlowWatcherDoesNotBlockWriters: writes complete while a watcher's
// buffer is full and nobody reads it.
func TestSlowWatcherDoesNotBlockWriters(t *testing.T) {
	s := openTest(t, Options{NoSync: true, ringSize: 8})
	if _, err := s.Watch(t.Context(), "", mustRevision(t, s)); err != nil {
		t.Fatalf("Watch: %v", err)
	}
	last := putN(t, s, 4*watchBuffer)
	if rev, _ := s.Revision(t.Context()); rev != last {
		t.Fatalf("revision %d, want %d", rev, last)
	}
}

func TestInvalidTxn(t *testing.T) {
	s := openTest(t, Options{NoSync: true})
	bad := map[string]struct {
		cmps []store.Compare
		ops  []store.Op
	}{
		"empty key":         {ops: []store.Op{store.Put("", nil)}},
		"prefix KeyAt":      {cmps: []store.Compare{{Key: "p/", Prefix: true, Kind: store.ModRevisionEquals}}},
		"unknown kind":      {cmps: []store.Compare{{Key: "k"}}},
		"key over max size": {ops: []store.Op{store.Put(string(make([]byte, 40000)), nil)}},
	}
	for name, tc := range bad {
		if _, err := s.Txn(t.Context(), tc.cmps, tc.ops); err == nil || errors.Is(err, store.ErrConflict) {
			t.Errorf("%s: err %v, want a validation error", name, err)
		}
	}
	if rev, _ := s.Revision(t.Context()); rev != 0 {
		t.Fatalf("invalid Txns moved revision to %d", rev)
	}
}

func BenchmarkTxnParallel(b *testing.B) {
	s, err := Open(filepath.Join(b.TempDir(), "trellis.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	var n atomic.Int64
	value := make([]byte, 256)
	// 32 writers per CPU: enough concurrency for group commit to matter.
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			key := fmt.Sprintf("bench/%d", n.Add(1))
			if _, err := s.Txn(context.Background(), nil, []store.Op{store.Put(key, value)}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkTxnSerial(b *testing.B) {
	s, err := Open(filepath.Join(b.TempDir(), "trellis.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	value := make([]byte, 256)
	b.ResetTimer()
	for i := range b.N {
		if _, err := s.Txn(context.Background(), nil, []store.Op{store.Put(fmt.Sprintf("bench/%d", i), value)}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGet(b *testing.B) {
	s, err := Open(filepath.Join(b.TempDir(), "trellis.db"), Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const keys = 1000
	ops := make([]store.Op, keys)
	for i := range ops {
		ops[i] = store.Put(fmt.Sprintf("bench/%04d", i), make([]byte, 256))
	}
	if _, err := s.Txn(context.Background(), nil, ops); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ResetTimer()
	for i := range b.N {
		if _, err := s.Get(ctx, ops[i%keys].Key); err != nil {
			b.Fatal(err)
		}
	}
}

func mustRevision(t *testing.T, s *Store) int64 {
	t.Helper()
	rev, err := s.Revision(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return rev
}
