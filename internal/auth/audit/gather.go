package audit

import (
	"time"
)

// DefaultCommitDelay is Options.CommitDelay's default: how long, at most, a
// leader under load waits for more records before it writes and syncs.
const DefaultCommitDelay = 200 * time.Microsecond

// gatherTarget is the queue length at which a leader waiting in gather
// stops waiting and commits.
const gatherTarget = 64

// gather is the leader's bounded wait before a commit. Under load only
// (the previous commit covered more than one record), it waits until the
// queue holds gatherTarget records or Options.CommitDelay has passed, so
// that one fdatasync covers more records: on a busy server the records of
// the calls that are running arrive meanwhile. A lone caller never waits,
// nor does a broken log (its commit fails at once).
//
// The wait parks the leader (it holds no P); the records already queued
// wait with it. Go's timers are precise while the process is busy; in an
// otherwise idle process the runtime may wake up to about 1 ms late.
func (l *Log) gather() {
	if l.opts.CommitDelay < 0 || l.lastBatch < 2 || l.broken != nil {
		return
	}
	l.mu.Lock()
	if len(l.pending) >= gatherTarget {
		l.mu.Unlock()
		return
	}
	l.want = gatherTarget
	l.mu.Unlock()
	start := time.Now()
	l.timer.Reset(l.opts.CommitDelay)
	timedOut := false
	select {
	case <-l.full:
	case <-l.timer.C:
		timedOut = true
	}
	l.timer.Stop()
	l.mu.Lock()
	l.want = 0
	select { // a wake-up sent as the timer fired
	case <-l.full:
	default:
	}
	l.mu.Unlock()
	l.m.gatherWait.Observe(time.Since(start).Seconds())
	if timedOut {
		l.m.gatherTimeouts.Inc()
	}
}

// queued is called under mu after a record joined pending: it wakes the
// leader waiting in gather once the queue holds what it waits for.
func (l *Log) queued() {
	if l.want > 0 && len(l.pending) >= l.want {
		l.want = 0
		select {
		case l.full <- struct{}{}:
		default:
		}
	}
}
