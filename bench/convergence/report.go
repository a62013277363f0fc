package main

import (
	"fmt"
	"slices"
	"time"
)

func (r result) print() {
	shape := fmt.Sprintf("every proxy has all %d services as backends", backends)
	if r.varied {
		shape = fmt.Sprintf("every proxy has a listener and its own subset of the services; an update reaches %d of them", len(r.perNode)/max(1, r.updates))
	}
	fmt.Printf("\nconvergence: %d proxies, %s, %d UpdateRoute calls; mesh of %d backends behind routers, %s\n",
		r.clients, r.mode(), r.updates, backends, shape)
	fmt.Printf("  setup: %d API calls in %v (%d concurrent, fsync on); connect + initial config at every proxy: %v\n",
		r.apiCalls, r.setup.Round(time.Millisecond), r.concurrency, r.connect.Round(time.Millisecond))
	fmt.Printf("  UpdateRoute round trip:                    p50 %9v                 max %9v\n", ms(pct(r.apiUpdate, 0.5)), ms(slices.Max(r.apiUpdate)))
	fmt.Printf("  write → proxy has it (%6d samples):     p50 %9v  p99 %9v  max %9v\n", len(r.perNode),
		ms(pct(r.perNode, 0.5)), ms(pct(r.perNode, 0.99)), ms(slices.Max(r.perNode)))
	fmt.Printf("  write → last proxy has it (%3d updates):  p50 %9v  p99 %9v  max %9v\n", len(r.perUpdate),
		ms(pct(r.perUpdate, 0.5)), ms(pct(r.perUpdate, 0.99)), ms(slices.Max(r.perUpdate)))
	fmt.Printf("  responses per proxy per update: %s\n", r.pushesPerUpdate())
	fmt.Printf("  control-plane heap per connected proxy: %.1f KiB live, %.1f KiB peak during the updates (GOGC=%d)\n",
		r.heap/1024, r.peakHeap/1024, r.gogc)
	if len(r.etcd) > 0 {
		fmt.Printf("  store: etcd, 3 members on loopback (translation times are measured with -store bolt)\n")
		return
	}
	fmt.Printf("  translation of one proxy from scratch (irgen + xdsgen, validated; %d iterations): %v\n", r.translateIters, r.translate.Round(100*time.Nanosecond))
	fmt.Printf("  irgen per proxy in a rebuild, the backends' part shared (%d proxies): %v\n", r.clients, r.translateShared.Round(100*time.Nanosecond))
}

func (r result) pushesPerUpdate() string {
	per := func(v int64) float64 { return float64(v) / float64(r.clients*r.updates) }
	return fmt.Sprintf("CDS %.2f  LDS %.2f  RDS %.2f  EDS %.2f  (%.1f KiB)",
		per(r.pushed.cds), per(r.pushed.lds), per(r.pushed.rds), per(r.pushed.eds), per(r.pushed.bytes)/1024)
}

// printTable summarises several runs as a Markdown table.
func printTable(rs []result) {
	fmt.Println()
	fmt.Println("| proxies | xDS | per proxy p50 | p99 | max | slowest proxy per update p50 | p99 | responses / proxy / update | heap / proxy live (peak) | translate from scratch / shared |")
	fmt.Println("|---:|---|---:|---:|---:|---:|---:|---|---:|---:|")
	for _, r := range rs {
		fmt.Printf("| %d | %s | %v | %v | %v | %v | %v | %s | %.1f (%.1f) KiB | %v / %v |\n", r.clients, r.mode(),
			ms(pct(r.perNode, 0.5)), ms(pct(r.perNode, 0.99)), ms(slices.Max(r.perNode)),
			ms(pct(r.perUpdate, 0.5)), ms(pct(r.perUpdate, 0.99)),
			r.pushesShort(), r.heap/1024, r.peakHeap/1024, r.translate.Round(100*time.Nanosecond), r.translateShared.Round(100*time.Nanosecond))
	}
}

func (r result) pushesShort() string {
	n := float64(r.clients * r.updates)
	return fmt.Sprintf("%.2g CDS, %.2g LDS, %.2g RDS", float64(r.pushed.cds)/n, float64(r.pushed.lds)/n, float64(r.pushed.rds)/n)
}

// pct is the q-quantile (nearest rank) of d; with 20 samples p99 is the max.
func pct(d []time.Duration, q float64) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

func ms(d time.Duration) time.Duration { return d.Round(10 * time.Microsecond) }
