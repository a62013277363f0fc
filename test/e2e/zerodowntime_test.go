package e2e

import (
	"context"
	"testing"
	"time"
)

// TestZeroErrorUpdates applies a stream of weight edits while traffic flows
// through Envoy and counts every failed request. Target: none.
func TestZeroErrorUpdates(t *testing.T) {
	if testing.Short() {
		t.Skip("20 s load test")
	}
	m := setupColor(t, 50, 50)
	eventually(t, 10*time.Second, m.c.expectBodyIn(m.frontAddr, "color.local", "/", "blue", "green"))
	const (
		duration = 21 * time.Second
		rps      = 250
		edits    = 120
	)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	l := runLoad(ctx, m.c, m.frontAddr, "color.local", rps, 10)
	start := time.Now()
	every := (duration - time.Second) / edits
	for i := range edits {
		blue := int32((i * 37) % 101)
		m.cp.updateRoute(t, "color", "color-router", "color-route", prefixRoute("/", weighted(wt("blue", blue), wt("green", 100-blue))))
		time.Sleep(every)
	}
	// The load runs for at least duration and a second past the last
	// edit, however long the edits took on a loaded machine, so every
	// edit is under load and the rate is over the load's own window.
	time.Sleep(max(time.Second, duration-time.Since(start)))
	cancel()
	l.wait()
	elapsed := time.Since(start)
	ok, failed := l.ok.Load(), l.failed.Load()
	t.Logf("%d route edits in %v under %.0f rps: %d requests succeeded, %d failed",
		edits, elapsed.Round(time.Second), float64(ok+failed)/elapsed.Seconds(), ok, failed)
	if float64(ok+failed)/elapsed.Seconds() < 200 {
		t.Errorf("load generator reached only %.0f rps, want >= 200", float64(ok+failed)/elapsed.Seconds())
	}
	if failed != 0 {
		l.mu.Lock()
		t.Errorf("%d requests failed during updates: %v", failed, l.failures)
		l.mu.Unlock()
	}
}
