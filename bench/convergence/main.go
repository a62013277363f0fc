// Command convergence measures convergence as the App Mesh user sees it:
// the time from an App Mesh API write until every affected proxy has the
// resulting configuration, through the whole pipeline (HTTP API → manager
// → bbolt store with fsync → meshview → reconcile → irgen → xdsgen →
// xdsserver → gRPC ADS → proxy).
//
// It starts a trellis server in-process on a temporary data dir, creates a
// mesh through the official AWS SDK (10 backend virtual nodes, each behind
// a virtual router with one weighted route and a virtual service, and N
// client virtual nodes with all 10 services as backends), connects N
// simulated Envoys from a child process of itself (real gRPC ADS streams,
// ACKing every response; see bench/internal/adsclient), then runs K
// UpdateRoute calls that change route 0's weights, which every client
// uses. For each update it takes the clock just before the SDK call and
// the wall-clock time each proxy received a route configuration with the
// new weights (same machine, same clock), and prints the distribution per
// proxy and of the slowest proxy per update; also the control plane's heap
// per connected proxy (live, and the peak between collections under the GC
// target trellis server runs with) and translation times. It asserts
// nothing.
//
// Client and control plane share the machine's cores, which a deployed
// fleet of Envoys would not; the simulated proxies decode of each response
// only what an ACK needs and the field the benchmark checks.
//
//	go run ./bench/convergence -clients 1000 [-delta]
//	go run ./bench/convergence -all      # 100 and 1000 proxies, SotW and delta
//	go run ./bench/convergence -storm 1000,5000,10000 -updates 10
//	                                     # storms, kill -9 restarts and updates against
//	                                     # a go-control-plane reference (storm.go)
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/trellis-mesh/trellis/bench/internal/adsclient"
)

func main() {
	var (
		clients     = flag.Int("clients", 100, "client virtual nodes, one simulated proxy each")
		delta       = flag.Bool("delta", false, "delta xDS instead of state of the world")
		all         = flag.Bool("all", false, "run 100 and 1000 proxies, state of the world and delta")
		updates     = flag.Int("updates", 20, "UpdateRoute calls measured")
		concurrency = flag.Int("concurrency", 16, "concurrent API calls while creating the client nodes")
		iters       = flag.Int("translate-iterations", 200, "translations timed per run")
		cpuProfile  = flag.String("cpuprofile", "", "write a CPU profile of the control plane during the updates of the (last) run to this file (-storm: of the restarted server process, start to stop)")
		memProfile  = flag.String("memprofile", "", "write the control plane's allocation profile after the updates of the (last) run to this file, and the one before them to this file.before")
		childCPU    = flag.String("child-cpuprofile", "", "write a CPU profile of the simulated proxies' process (whole run) to this file")
		perUpdate   = flag.Bool("v", false, "print the distribution of every update")
		varied      = flag.Bool("varied", false, "give every client a listener and its own subset of the services as backends: configurations differ and an update reaches half the proxies")
		child       = flag.String("child", "", "internal: run the simulated proxies against this xDS address")
		reconnect   = flag.Bool("reconnect", false, "internal: the simulated proxies reconnect when their stream fails")
		storm       = flag.String("storm", "", "run the fleet storm benchmark (storm.go) at these fleet sizes, e.g. 1000,5000,10000")
		serve       = flag.String("serve", "", "internal: run a trellis server on this data dir (storm.go)")
		apiAddr     = flag.String("api", "", "internal: -serve's API address")
		xdsAddr     = flag.String("xds", "", "internal: -serve's xDS address")
	)
	flag.Parse()
	adsclient.RaiseFDLimit()
	var mode func() error
	switch {
	case *child != "":
		mode = func() error { return runChild(*child, *clients, *delta, *reconnect, *childCPU) }
	case *serve != "":
		mode = func() error { return runServe(*serve, *apiAddr, *xdsAddr, *cpuProfile) }
	case *storm != "":
		mode = func() error { return runStorms(*storm, *updates, *cpuProfile) }
	}
	if mode != nil {
		if err := mode(); err != nil {
			fmt.Fprintln(os.Stderr, "convergence:", err)
			os.Exit(1)
		}
		return
	}
	base := params{clients: *clients, updates: *updates, concurrency: *concurrency, translateIters: *iters, delta: *delta, cpuProfile: *cpuProfile, memProfile: *memProfile,
		childCPUProfile: *childCPU, perUpdateLog: *perUpdate, varied: *varied}
	runs := []params{base}
	if *all {
		runs = nil
		for _, n := range []int{100, 1000} {
			for _, d := range []bool{false, true} {
				p := base
				p.clients, p.delta = n, d
				runs = append(runs, p)
			}
		}
	}
	var results []result
	for _, p := range runs {
		r, err := run(p)
		if err != nil {
			fmt.Fprintf(os.Stderr, "convergence (%d proxies, %s): %v\n", p.clients, p.mode(), err)
			os.Exit(1)
		}
		r.print()
		results = append(results, r)
	}
	if len(results) > 1 {
		printTable(results)
	}
}
