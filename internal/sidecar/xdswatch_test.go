package sidecar

import (
	"testing"
	"time"
)

// TestXDSWatch feeds the watch a timeline of connected-state observations
// and checks what it asks to log at each.
func TestXDSWatch(t *testing.T) {
	type step struct {
		at        time.Duration // since the watch began
		connected bool
		want      xdsEvent
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"connects during start grace", []step{
			{time.Second, false, xdsNothing},
			{2 * time.Second, true, xdsFirst},
			{3 * time.Second, true, xdsNothing},
		}},
		{"never connects: warns after grace, repeats every 30s", []step{
			{time.Second, false, xdsNothing},
			{xdsStartGrace, false, xdsLost},
			{xdsStartGrace + time.Second, false, xdsNothing},
			{xdsStartGrace + xdsWarnRepeat, false, xdsLost},
			{xdsStartGrace + xdsWarnRepeat + time.Second, true, xdsBack},
		}},
		{"outage after connect: warns at once, info when back", []step{
			{time.Second, true, xdsFirst},
			{2 * time.Second, false, xdsLost},
			{3 * time.Second, false, xdsNothing},
			{4 * time.Second, true, xdsBack},
			{5 * time.Second, true, xdsNothing},
			{6 * time.Second, false, xdsLost},
			{7 * time.Second, true, xdsBack},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t0 := time.Unix(1000, 0)
			w := newXDSWatch(t0)
			for _, s := range tt.steps {
				if got := w.observe(t0.Add(s.at), s.connected); got != s.want {
					t.Fatalf("at %v connected=%v: event %d, want %d", s.at, s.connected, got, s.want)
				}
			}
		})
	}
}

func TestXDSWatchOutage(t *testing.T) {
	t0 := time.Unix(1000, 0)
	w := newXDSWatch(t0)
	w.observe(t0.Add(time.Second), true)
	w.observe(t0.Add(2*time.Second), false)
	if got := w.outage(t0.Add(5 * time.Second)); got != 3*time.Second {
		t.Errorf("outage = %v, want 3s", got)
	}
	w.observe(t0.Add(6*time.Second), true)
	if got := w.outage(t0.Add(7 * time.Second)); got != 0 {
		t.Errorf("outage while connected = %v, want 0", got)
	}
}
