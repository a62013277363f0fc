package audit

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
)

const crashDirEnv = "TRELLIS_AUDIT_CRASH_CHILD_DIR"

// TestCrashChild is the child process of TestKill9KeepsAcknowledgedRecords:
// it appends from several goroutines and prints "ack <requestID>" after each
// Append returns, until it is killed.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("child process of TestKill9KeepsAcknowledgedRecords")
	}
	l, err := Open(Options{Dir: dir, MaxFileBytes: 16 << 10, MaxFiles: 100000, Logger: quiet()})
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(2)
	}
	var mu sync.Mutex
	out := bufio.NewWriter(os.Stdout)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := 0; ; i++ {
				r := sample(i % 60)
				r.RequestID = fmt.Sprintf("w%d-%d", w, i)
				if err := l.Append(context.Background(), r); err != nil {
					fmt.Println("append:", err)
					os.Exit(2)
				}
				mu.Lock()
				fmt.Fprintf(out, "ack %s\n", r.RequestID)
				out.Flush()
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}

// TestKill9KeepsAcknowledgedRecords re-executes the test binary as a child
// that appends as fast as it can, kills it with SIGKILL mid-stream, and
// checks that every record whose Append had returned is on disk, that Query
// reads the directory without error, and that the log reopens and appends.
func TestKill9KeepsAcknowledgedRecords(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := map[string]bool{}
	sc := bufio.NewScanner(stdout)
	killed := false
	for sc.Scan() {
		line := sc.Text()
		id, ok := strings.CutPrefix(line, "ack ")
		if !ok {
			t.Errorf("child: %s", line)
			continue
		}
		acked[id] = true
		if len(acked) == 2000 && !killed {
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			killed = true // keep reading: acks printed before the kill are in the pipe
		}
	}
	_ = cmd.Wait()
	if !killed {
		t.Fatalf("child exited before the kill after %d acks", len(acked))
	}
	onDisk := map[string]int{}
	for _, r := range queryAll(t, dir, Filter{}) {
		onDisk[r.RequestID]++
	}
	for id := range acked {
		if onDisk[id] != 1 {
			t.Errorf("acknowledged record %s on disk %d times", id, onDisk[id])
		}
	}
	files, _ := listFiles(dir)
	t.Logf("%d acknowledged, %d on disk (unacknowledged writes may land too), %d files", len(acked), len(onDisk), len(files))

	l := openT(t, Options{Dir: dir, MaxFileBytes: 16 << 10, MaxFiles: 100000})
	r := sample(1)
	r.RequestID = "after-restart"
	if err := l.Append(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	if got := queryAll(t, dir, Filter{Resource: "route/r1"}); len(got) == 0 || got[len(got)-1].RequestID != "after-restart" {
		t.Errorf("record after restart not last: %d records", len(got))
	}
}
