package bolt

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trellis-mesh/trellis/internal/store"
)

// crashChildEnv selects the child mode of TestCrashDurability and names the
// store file the child writes.
const crashChildEnv = "TRELLIS_BOLT_CRASH_CHILD"

// TestCrashDurability checks the contract's durability promise against a
// real crash: a child process writes with fsync on and reports each key
// after its Txn returned; the parent kills it with SIGKILL mid-stream and
// every reported key must be in the reopened file.
func TestCrashDurability(t *testing.T) {
	if path := os.Getenv(crashChildEnv); path != "" {
		crashChild(path)
		return
	}
	if testing.Short() {
		t.Skip("spawns a child process")
	}
	path := filepath.Join(t.TempDir(), "trellis.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashDurability$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+path)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := make(chan []string)
	go func() { acked <- readAcks(stdout) }()
	time.Sleep(time.Second)
	if err := cmd.Process.Kill(); err != nil { // SIGKILL: no deferred cleanup runs
		t.Fatal(err)
	}
	keys := <-acked
	_ = cmd.Wait()
	if len(keys) == 0 {
		t.Fatal("child acknowledged no Txn within 1s")
	}

	s := openAfterCrash(t, path)
	for _, k := range keys {
		if _, err := s.Get(t.Context(), k); err != nil {
			t.Errorf("acknowledged key %s lost in crash: %v", k, err)
		}
	}
	rev, _ := s.Revision(t.Context())
	t.Logf("%d acknowledged Txns survived SIGKILL; store at revision %d", len(keys), rev)
}

// readAcks returns the complete lines the child wrote before it died. A
// line cut short by the kill was never acknowledged and is dropped.
func readAcks(r io.Reader) []string {
	var keys []string
	br := bufio.NewReader(r)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return keys
		}
		keys = append(keys, strings.TrimSuffix(line, "\n"))
	}
}

func openAfterCrash(t *testing.T, path string) *Store {
	t.Helper()
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("reopen after crash: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// crashChild writes from several goroutines until killed, printing each
// key only after its Txn returned nil. It never returns normally: the
// parent kills it, and a timeout guards against an orphaned child.
func crashChild(path string) {
	s, err := Open(path, Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(2)
	}
	var mu sync.Mutex
	for g := range 8 {
		go func() {
			for i := 0; ; i++ {
				key := fmt.Sprintf("crash/%d/%d", g, i)
				if _, err := s.Txn(context.Background(), nil, []store.Op{store.Put(key, []byte(key))}); err != nil {
					fmt.Fprintln(os.Stderr, "child:", err)
					os.Exit(2)
				}
				mu.Lock()
				// One write per line: a pipe write this small is atomic.
				_, _ = os.Stdout.WriteString(key + "\n")
				mu.Unlock()
			}
		}()
	}
	time.Sleep(30 * time.Second)
	os.Exit(3)
}
