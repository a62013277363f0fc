package etcdbench

import (
	"fmt"
	"os"

	"github.com/trellis-mesh/trellis/internal/store/etcd/etcdtest"
)

// Cluster is a running cluster; Close stops it and removes its data.
type Cluster struct {
	tb        *tb
	Endpoints []string
}

// Start starts 3 etcd members (the etcd binary must be on PATH, or named
// by TRELLIS_ETCD_BIN) and waits until they serve.
func Start() *Cluster {
	t := &tb{}
	c := etcdtest.Start(t, 3)
	return &Cluster{tb: t, Endpoints: c.Endpoints()}
}

// Close stops every member.
func (c *Cluster) Close() { c.tb.close() }

// tb adapts the harness's test interface to a program.
type tb struct {
	cleanups []func()
}

func (b *tb) Helper()                  {}
func (b *tb) Cleanup(f func())         { b.cleanups = append(b.cleanups, f) }
func (b *tb) Failed() bool             { return false }
func (b *tb) Logf(f string, a ...any)  { fmt.Fprintf(os.Stderr, f+"\n", a...) }
func (b *tb) Fatal(a ...any)           { b.Fatalf("%s", fmt.Sprint(a...)) }
func (b *tb) Skipf(f string, a ...any) { b.Fatalf(f, a...) }

func (b *tb) Fatalf(f string, a ...any) {
	fmt.Fprintf(os.Stderr, "etcd: "+f+"\n", a...)
	b.close()
	os.Exit(1)
}

func (b *tb) TempDir() string {
	dir, err := os.MkdirTemp("", "trellis-bench-etcd-*")
	if err != nil {
		b.Fatalf("temp dir: %v", err)
	}
	b.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// close runs the cleanups, last first.
func (b *tb) close() {
	for i := len(b.cleanups) - 1; i >= 0; i-- {
		b.cleanups[i]()
	}
	b.cleanups = nil
}
