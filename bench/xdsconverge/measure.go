package main

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"github.com/trellis-mesh/trellis/internal/xdsserver"
)

const (
	// pollEvery spaces Status reads while waiting; ACK times come from the
	// server's own records, so it only delays noticing, not the figures.
	pollEvery = 10 * time.Millisecond
	// convergeTimeout gives up on a version that does not converge.
	convergeTimeout = 60 * time.Second
)

// allTypes are the types every node subscribes to.
var allTypes = []string{resourcev3.ClusterType, resourcev3.ListenerType, resourcev3.RouteType}

// results are the figures of the update phase.
type results struct {
	fromStart []time.Duration // update start → node's last ACK of the version
	fromOwn   []time.Duration // node's own SetResources call → that ACK
	setAll    []time.Duration // SetResources for all nodes, per update
}

// updates pushes versions 2..k+1, each a new weight split on every node.
func (b *bench) updates(k int) (results, error) {
	var r results
	setAt := make([]time.Time, b.n)
	for v := 2; v <= k+1; v++ {
		sets := make([]map[string][]types.Resource, b.n)
		for i, nc := range b.configs {
			sets[i] = nc.resources(v)
		}
		version := fmt.Sprint(v)
		t0 := time.Now()
		for i, set := range sets {
			setAt[i] = time.Now()
			if err := b.srv.SetResources(nodeID(i), version, set); err != nil {
				return r, fmt.Errorf("set v%d: %w", v, err)
			}
		}
		r.setAll = append(r.setAll, time.Since(t0))
		acks, err := b.waitConverged(v, t0)
		if err != nil {
			return r, err
		}
		for i, at := range acks {
			r.fromStart = append(r.fromStart, at.Sub(t0))
			r.fromOwn = append(r.fromOwn, at.Sub(setAt[i]))
		}
	}
	return r, nil
}

// waitConverged polls Status until every node has ACKed version v of every
// type that version changes for it, and returns each node's last such ACK
// time, by node index. Version 1 brings every type; later versions change
// only the route configurations, and the server versions each type on its
// own, so only those are sent again (with ordered state-of-the-world ADS
// they would come last anyway).
func (b *bench) waitConverged(v int, since time.Time) ([]time.Time, error) {
	want, types := fmt.Sprint(v), allTypes
	if v > 1 {
		types = []string{resourcev3.RouteType}
	}
	deadline := since.Add(convergeTimeout)
	for {
		acks := make([]time.Time, b.n)
		done := 0
		for _, ns := range b.srv.Status() {
			i, at, ok := ackedAll(ns, want, types)
			if ok && i < b.n && acks[i].IsZero() {
				acks[i] = at
				done++
			}
		}
		if done == b.n {
			return acks, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("version %d: %d of %d proxies converged after %v", v, done, b.n, convergeTimeout)
		}
		time.Sleep(pollEvery)
	}
}

// ackedAll reports the node index of ns and its latest ACK time when every
// type in types is ACKed at version want.
func ackedAll(ns xdsserver.NodeStatus, want string, types []string) (int, time.Time, bool) {
	var i int
	if _, err := fmt.Sscanf(ns.NodeID[strings.LastIndexByte(ns.NodeID, '-')+1:], "%d", &i); err != nil {
		return 0, time.Time{}, false
	}
	var last time.Time
	for _, t := range types {
		ts, ok := ns.Types[t]
		if !ok || ts.AckedVersion != want {
			return 0, time.Time{}, false
		}
		if ts.AckedAt.After(last) {
			last = ts.AckedAt
		}
	}
	return i, last, true
}

func (r results) print(n int, setV1 time.Duration) {
	slices.Sort(r.setAll)
	mid := r.setAll[len(r.setAll)/2]
	fmt.Printf("SetResources for all %d nodes: initial %v; per update p50 %v, max %v (%v per node at p50)\n",
		n, ms(setV1), ms(mid), ms(r.setAll[len(r.setAll)-1]), (mid / time.Duration(n)).Round(100*time.Nanosecond))
	fmt.Printf("convergence from update start (%d samples):         %s\n", len(r.fromStart), pct(r.fromStart))
	fmt.Printf("convergence from the node's own SetResources call: %s\n", pct(r.fromOwn))
}

// pct formats p50/p99/max.
func pct(d []time.Duration) string {
	slices.Sort(d)
	at := func(q float64) time.Duration { return d[min(len(d)-1, int(q*float64(len(d))))] }
	return fmt.Sprintf("p50 %8v  p99 %8v  max %8v", ms(at(0.50)), ms(at(0.99)), ms(d[len(d)-1]))
}

func ms(d time.Duration) time.Duration { return d.Round(10 * time.Microsecond) }

// heapInUse is HeapInuse after a full collection.
func heapInUse() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapInuse)
}

func kib(bytes int64, n int) string { return fmt.Sprintf("%.1f KiB", float64(bytes)/float64(n)/1024) }

// printPushes shows responses sent and ACKed per type over the whole run.
func (b *bench) printPushes() {
	families, err := b.reg.Gather()
	if err != nil {
		return
	}
	for _, f := range families {
		name := f.GetName()
		if name != "trellis_xds_pushes_total" && name != "trellis_xds_acks_total" && name != "trellis_xds_nacks_total" {
			continue
		}
		var parts []string
		for _, m := range f.GetMetric() {
			parts = append(parts, fmt.Sprintf("%s=%.0f", m.GetLabel()[0].GetValue(), m.GetCounter().GetValue()))
		}
		fmt.Printf("%s: %s\n", name, strings.Join(parts, " "))
	}
}
