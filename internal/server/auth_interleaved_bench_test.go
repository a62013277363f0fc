package server_test

import (
	"context"
	"runtime"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/appmesh"

	"github.com/trellis-mesh/trellis/internal/server"
)

// BenchmarkDescribeAuthInterleaved is the A/B of authentication's cost
// made robust to a shared, noisy machine: three servers in one process
// (auth off; auth on with a no-op auditor; auth on with the durable audit
// log) take turns in short bursts of describes from 64 callers, in a
// rotating order, so that a change in what else the machine runs hits all
// three alike. b.N describes go to each server. It reports each variant's
// process CPU per describe (client and server) and the median over bursts
// of the ratio to auth off, and the audit log's records and µs per fsync.
// Each variant's goroutines carry the pprof label variant=off|auth|audit.
//
//	go test -run '^$' -bench DescribeAuthInterleaved -benchtime 12000x -cpu 2 ./internal/server/
func BenchmarkDescribeAuthInterleaved(b *testing.B) {
	const callers, burst = 64, 500
	names := []string{"off", "auth", "audit"}
	var clients []*appmesh.Client
	var auditing *server.Server
	for i := range names {
		// Label each server's goroutines (and below, each burst's client
		// goroutines) with its variant, so that a CPU profile of a run can
		// be split: go tool pprof -tagfocus variant=auth ...
		pprof.Do(context.Background(), pprof.Labels("variant", names[i]), func(context.Context) {
			s, c := startBenchServer(b, i > 0, i == 2, callers)
			clients = append(clients, c)
			if i == 2 {
				auditing = s
			}
		})
	}
	cpu := make([]time.Duration, len(names))
	allocs := make([]uint64, len(names))
	ratios := make([][]float64, len(names))
	b.ResetTimer()
	for round, left := 0, b.N; left > 0; round++ {
		n := min(burst, left)
		left -= n
		var per [3]time.Duration
		for k := range names {
			v := (round + k) % len(names) // rotate which variant goes first
			var a uint64
			pprof.Do(context.Background(), pprof.Labels("variant", names[v]), func(context.Context) {
				per[v], a = describeBurst(b, clients[v], callers, n)
			})
			cpu[v] += per[v]
			allocs[v] += a
		}
		for v := 1; v < len(names); v++ {
			ratios[v] = append(ratios[v], float64(per[v])/float64(per[0]))
		}
	}
	b.StopTimer()
	for v, name := range names {
		b.ReportMetric(float64(cpu[v].Microseconds())/float64(b.N), name+"-cpu-µs/describe")
		b.ReportMetric(float64(allocs[v])/float64(b.N), name+"-allocs/describe")
		if v > 0 && len(ratios[v]) > 0 {
			b.ReportMetric(median(ratios[v]), name+"/off")
		}
	}
	reportGroupCommit(b, auditing.MetricsAddr())
}

// describeBurst runs n DescribeMesh calls from callers goroutines and
// returns the process CPU time they took and the heap allocations made
// meanwhile (client and server).
func describeBurst(b *testing.B, client *appmesh.Client, callers, n int) (time.Duration, uint64) {
	ctx := context.Background()
	var next atomic.Int64
	var wg sync.WaitGroup
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	cpu0 := cpuTime()
	for range callers {
		wg.Go(func() {
			for next.Add(1) <= int64(n) {
				if _, err := client.DescribeMesh(ctx, &appmesh.DescribeMeshInput{MeshName: aws.String("bench")}); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	cpu := cpuTime() - cpu0
	runtime.ReadMemStats(&m1)
	return cpu, m1.Mallocs - m0.Mallocs
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
