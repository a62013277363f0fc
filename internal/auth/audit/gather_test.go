package audit

import (
	"errors"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// TestGatherBounds: a leader waits before its commit only under load (the
// previous commit covered more than one record), and then only until the
// queue holds gatherTarget records or CommitDelay passes.
func TestGatherBounds(t *testing.T) {
	for _, tc := range []struct {
		name      string
		delay     time.Duration
		lastBatch int
		queued    int  // records queued before the leader gathers
		fill      bool // queue records until gatherTarget while it waits
		broken    bool
		waits     uint64
		timeouts  float64
	}{
		{name: "lone caller", delay: time.Hour, lastBatch: 1, queued: 1},
		{name: "disabled", delay: -1, lastBatch: 10, queued: 1},
		{name: "queue already at the target", delay: time.Hour, lastBatch: 10, queued: gatherTarget},
		{name: "broken log", delay: time.Hour, lastBatch: 10, queued: 1, broken: true},
		{name: "under load, stops at the delay", delay: 2 * time.Millisecond, lastBatch: 2, queued: 1, waits: 1, timeouts: 1},
		{name: "under load, stops at the target", delay: time.Hour, lastBatch: 2, queued: 1, fill: true, waits: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := openT(t, Options{Dir: t.TempDir(), CommitDelay: tc.delay})
			l.lastBatch = tc.lastBatch
			if tc.broken {
				l.broken = errors.New("disk gone")
			}
			for range tc.queued {
				l.pending = append(l.pending, &entry{})
			}
			done := make(chan struct{})
			go func() { defer close(done); l.gather() }()
			if tc.fill {
				waitFor(t, func() bool { l.mu.Lock(); defer l.mu.Unlock(); return l.want > 0 })
				for i := tc.queued; i < gatherTarget; i++ {
					l.mu.Lock()
					l.pending = append(l.pending, &entry{})
					l.queued()
					l.mu.Unlock()
				}
			}
			<-done
			if got := histCount(t, l.m.gatherWait); got != tc.waits {
				t.Errorf("waits %d, want %d", got, tc.waits)
			}
			if got := counter(t, l.m.gatherTimeouts); got != tc.timeouts {
				t.Errorf("timeouts %v, want %v", got, tc.timeouts)
			}
			if tc.timeouts > 0 { // a timer never fires early
				if waited := histSum(t, l.m.gatherWait); waited < tc.delay.Seconds() {
					t.Errorf("waited %v s, less than the delay %v", waited, tc.delay)
				}
			}
			l.pending = nil
		})
	}
}

func histSum(t *testing.T, h interface{ Write(*dto.Metric) error }) float64 {
	t.Helper()
	var m dto.Metric
	if err := h.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetHistogram().GetSampleSum()
}
