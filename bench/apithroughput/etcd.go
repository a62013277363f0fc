package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/trellis-mesh/trellis/internal/store/etcd/etcdtest"
)

// benchTB lets the benchmark start an etcd cluster with the test harness:
// a failure prints and exits, cleanups run on close.
type benchTB struct {
	cleanups []func()
}

func (b *benchTB) Helper()                  {}
func (b *benchTB) Cleanup(f func())         { b.cleanups = append(b.cleanups, f) }
func (b *benchTB) Failed() bool             { return false }
func (b *benchTB) Logf(f string, a ...any)  { fmt.Fprintf(os.Stderr, f+"\n", a...) }
func (b *benchTB) Fatal(a ...any)           { b.Fatalf("%s", fmt.Sprint(a...)) }
func (b *benchTB) Skipf(f string, a ...any) { b.Fatalf(f, a...) }

func (b *benchTB) Fatalf(f string, a ...any) {
	fmt.Fprintf(os.Stderr, "apithroughput: "+f+"\n", a...)
	b.close()
	os.Exit(1)
}

func (b *benchTB) TempDir() string {
	dir, err := os.MkdirTemp("", "trellis-bench-etcd-*")
	if err != nil {
		b.Fatalf("temp dir: %v", err)
	}
	b.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// close runs the cleanups, last first.
func (b *benchTB) close() {
	for i := len(b.cleanups) - 1; i >= 0; i-- {
		b.cleanups[i]()
	}
	b.cleanups = nil
}

// startEtcd starts a 3-member etcd cluster on loopback and returns its
// endpoints as one flag value.
func startEtcd(tb *benchTB) string {
	c := etcdtest.Start(tb, 3)
	return strings.Join(c.Endpoints(), ",")
}

// storeArgs are the `trellis server` flags of the chosen store.
func storeArgs(kind, endpoints string) []string {
	if kind != "etcd" {
		return nil
	}
	return []string{"--store", "etcd", "--etcd-endpoints", endpoints, "--etcd-prefix", "/bench/"}
}
