package etcd

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/trellis-mesh/trellis/internal/store"
	"github.com/trellis-mesh/trellis/internal/store/etcd/etcdtest"
)

// BenchmarkStore measures the raw backend on a 3-member loopback cluster
// (32 concurrent callers): a create Txn guarded by a KeyAbsent compare
// (what every App Mesh create ends with), and linearizable Get straight
// from etcd and through the read cache.
//
//	go test -run '^$' -bench Store -benchtime 5000x ./internal/store/etcd/
func BenchmarkStore(b *testing.B) {
	c := etcdtest.Start(b, 3)
	s, err := Open(b.Context(), Options{Endpoints: c.Endpoints(), Prefix: "/bench/"})
	if err != nil {
		b.Fatalf("Open: %v", err)
	}
	b.Cleanup(func() { _ = s.Close() })
	var n atomic.Int64
	b.Run("CreateTxn", func(b *testing.B) {
		b.SetParallelism(16) // 32 callers on 2 cores
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				k := fmt.Sprintf("k/%08d", n.Add(1))
				if _, err := s.Txn(b.Context(), []store.Compare{store.KeyAbsent(k)}, []store.Op{store.Put(k, make([]byte, 600))}); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	cached, err := Open(b.Context(), Options{Endpoints: c.Endpoints(), Prefix: "/bench/", ReadCache: true})
	if err != nil {
		b.Fatalf("Open: %v", err)
	}
	b.Cleanup(func() { _ = cached.Close() })
	for _, s := range []*Store{s, cached} {
		name := "Get"
		if s.cache != nil {
			name = "GetReadCache"
		}
		b.Run(name, func(b *testing.B) { benchGet(b, s, n.Load()) })
	}
}

// benchGet reads the n keys CreateTxn wrote, round-robin.
func benchGet(b *testing.B, s *Store, n int64) {
	b.SetParallelism(16)
	var i atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			k := fmt.Sprintf("k/%08d", 1+i.Add(1)%max(n, 1))
			if _, err := s.Get(b.Context(), k); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
