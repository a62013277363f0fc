package bolt

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	bbolt "go.etcd.io/bbolt"

	"github.com/trellis-mesh/trellis/internal/store"
)

// BenchmarkOpenVerify measures what the full check at open costs: Open
// (preflight, record walk, bbolt's Tx.Check) against a bare bbolt.Open of
// the same file. Resources are 2 KiB, about an App Mesh virtual node.
func BenchmarkOpenVerify(b *testing.B) {
	for _, n := range []int{10000, 50000} {
		path := largeStore(b, n)
		fi, err := os.Stat(path)
		if err != nil {
			b.Fatal(err)
		}
		mb := float64(fi.Size()) / (1 << 20)
		b.Run(fmt.Sprintf("checked/keys=%d", n), func(b *testing.B) {
			for b.Loop() {
				s, err := Open(path, Options{NoSync: true})
				if err != nil {
					b.Fatal(err)
				}
				s.Close()
			}
			b.ReportMetric(mb, "MB")
		})
		b.Run(fmt.Sprintf("bare/keys=%d", n), func(b *testing.B) {
			for b.Loop() {
				db, err := bbolt.Open(path, 0o600, nil)
				if err != nil {
					b.Fatal(err)
				}
				db.Close()
			}
			b.ReportMetric(mb, "MB")
		})
	}
}

func largeStore(b *testing.B, n int) string {
	b.Helper()
	path := filepath.Join(b.TempDir(), "trellis.db")
	s, err := Open(path, Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	val := bytes.Repeat([]byte("x"), 2048)
	for i := 0; i < n; i += 500 {
		ops := make([]store.Op, 0, 500)
		for j := i; j < i+500 && j < n; j++ {
			ops = append(ops, store.Put(fmt.Sprintf("appmesh/m/mesh/virtualNode/vn-%06d", j), val))
		}
		if _, err := s.Txn(b.Context(), nil, ops); err != nil {
			b.Fatal(err)
		}
	}
	return path
}
