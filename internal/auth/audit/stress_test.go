package audit

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// TestAppendCancelCloseStress: appends from many goroutines, a third of
// them with contexts that end at random moments, then Close while some
// are still arriving. Every Append returns (no caller is left waiting for
// a commit or a hand-off that never comes), every acknowledged record is
// on disk once, and nothing else is.
func TestAppendCancelCloseStress(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(Options{Dir: dir, MaxFileBytes: 8 << 10, MaxFiles: 1 << 20, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	acked := map[string]bool{}
	var cancelled, closed int
	var wg sync.WaitGroup
	for w := range 24 {
		wg.Go(func() {
			for i := range 60 {
				ctx, cancel := context.Background(), context.CancelFunc(func() {})
				if (w+i)%3 == 0 {
					ctx, cancel = context.WithTimeout(context.Background(), time.Duration(i%7)*50*time.Microsecond)
				}
				r := sample(i)
				r.RequestID = string(rune('a'+w)) + "-" + string(rune('A'+i))
				err := l.Append(ctx, r)
				cancel()
				switch {
				case err == nil:
					mu.Lock()
					acked[r.RequestID] = true
					mu.Unlock()
				case errors.Is(err, ErrClosed):
					mu.Lock()
					closed++
					mu.Unlock()
				case errors.Is(err, context.DeadlineExceeded):
					mu.Lock()
					cancelled++
					mu.Unlock()
				default:
					t.Errorf("append: %v", err)
				}
			}
		})
	}
	time.Sleep(150 * time.Millisecond)
	done := make(chan error, 1)
	go func() { done <- l.Close() }()
	waitDone := make(chan struct{})
	go func() { wg.Wait(); close(waitDone) }()
	select {
	case <-waitDone:
	case <-time.After(30 * time.Second):
		t.Fatal("appends still waiting 30 s after Close: a commit or hand-off was lost")
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	t.Logf("%d acknowledged, %d cancelled, %d after Close", len(acked), cancelled, closed)
	onDisk := map[string]int{}
	for _, r := range queryAll(t, dir, Filter{}) {
		onDisk[r.RequestID]++
	}
	for id := range acked {
		if onDisk[id] != 1 {
			t.Errorf("acknowledged %s on disk %d times", id, onDisk[id])
		}
	}
	for id := range onDisk {
		if !acked[id] {
			t.Errorf("%s on disk, but its Append did not succeed (withdrawn or refused records must not land)", id)
		}
	}
}
