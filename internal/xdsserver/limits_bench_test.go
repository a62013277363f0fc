package xdsserver

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"google.golang.org/grpc"
)

// BenchmarkStreamFootprint opens b.N state-of-the-world ADS streams (100
// per connection) and reports what one costs while it waits for its first
// request (silent-*) and once it named its node (identified-*, with no
// snapshot to send): heap and stack bytes and goroutines per stream. Client and server share the process, so the
// figures bound the server's share from above. Run it bounded:
//
//	go test -run '^$' -bench StreamFootprint -benchtime 2000x ./internal/xdsserver
func BenchmarkStreamFootprint(b *testing.B) {
	h := startWith(b, Options{Limits: Limits{FirstRequestTimeout: time.Minute}})
	var conns []*grpc.ClientConn
	for range (b.N + 99) / 100 {
		conns = append(conns, h.conn(b))
	}
	heap0, g0 := footprint()
	streams := make([]adsStream, b.N)
	b.ResetTimer()
	for i := range b.N {
		st, err := openSotw(b.Context(), conns[i/100])
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(st.cancel)
		streams[i] = st
	}
	eventually(b, "every stream admitted", func() bool { return h.openStreams() == float64(b.N) })
	b.StopTimer()
	heap1, g1 := footprint()
	for i, st := range streams {
		if err := st.send(fmt.Sprintf("mesh/m/virtualNode/n%d", i)); err != nil {
			b.Fatal(err)
		}
	}
	eventually(b, "every stream identified", func() bool { return len(h.srv.ConnectedNodes()) == b.N })
	heap2, g2 := footprint()
	n := float64(b.N)
	b.ReportMetric(float64(heap1-heap0)/n, "silent-B/stream")
	b.ReportMetric(float64(g1-g0)/n, "silent-goroutines/stream")
	b.ReportMetric(float64(heap2-heap0)/n, "identified-B/stream")
	b.ReportMetric(float64(g2-g0)/n, "identified-goroutines/stream")
}

// footprint is the live heap after a collection plus the goroutine
// stacks, and the goroutine count.
func footprint() (bytes int64, goroutines int) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc + ms.StackInuse), runtime.NumGoroutine()
}
