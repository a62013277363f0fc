package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The storm benchmark (-storm 1000,5000,10000): for each fleet size N, in
// one run, on the same machine, the same mesh (mesh.go's shape) and the
// same simulated fleet (N proxies in a child process, each with its own
// connection, reconnecting when its stream fails):
//
//   - reference: a bare go-control-plane server (reference.go) holding a
//     precomputed snapshot for every node. Storm: the fleet starts and
//     connects at once; time until the last proxy has its route
//     configuration. Update: new snapshots with route 0's weights changed
//     are set for every node; per-proxy time until it has them.
//   - trellis: a trellis server in a child process (serverproc.go) on a
//     store holding the mesh. Storm as above, through the whole pipeline
//     (meshview, reconcile, irgen, xdsgen, xdsserver). Update: UpdateRoute
//     through the API to every proxy having the new weights. Restart: kill
//     -9 of the server under the connected fleet, a new server process on
//     the same store and addresses, and time from its start until every
//     proxy has its configuration again. Heap: the server's heap in use
//     per connected proxy once the storm has converged.
//
// It prints the figures and their ratios to the reference; it asserts
// nothing.

// stormTimeout gives up on a storm that does not converge.
const stormTimeout = 3 * time.Minute

// stormResult is one fleet size's figures.
type stormResult struct {
	n                  int
	refStorm, storm    time.Duration
	restart            time.Duration
	refUpdate, update  []time.Duration // per proxy, every update
	heapPerProxy       float64
	meshSetup, refWarm time.Duration
	restartReady       time.Duration // new server process start → listening
	cpuProfile         string        // of the restarted server, if set
}

// runStorms runs the storm benchmark at each size.
func runStorms(sizes string, updates int, cpuProfile string) error {
	var rs []stormResult
	for _, s := range strings.Split(sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n <= 0 {
			return fmt.Errorf("-storm: %q is not a fleet size", s)
		}
		r, err := runStorm(n, updates, cpuProfile)
		if err != nil {
			return fmt.Errorf("storm of %d proxies: %w", n, err)
		}
		r.print()
		rs = append(rs, r)
	}
	printStormTable(rs, updates)
	return nil
}

// runStorm measures the reference and trellis at one size.
func runStorm(n, updates int, cpuProfile string) (stormResult, error) {
	r := stormResult{n: n, cpuProfile: cpuProfile}
	dir, err := os.MkdirTemp("", "trellis-storm-")
	if err != nil {
		return r, err
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	t := time.Now()
	m, err := writeStormMesh(ctx, dir, n, updates)
	if err != nil {
		return r, err
	}
	r.meshSetup = time.Since(t)
	if err := r.reference(m, updates); err != nil {
		return r, fmt.Errorf("reference: %w", err)
	}
	if err := r.trellis(ctx, m, updates); err != nil {
		return r, fmt.Errorf("trellis: %w", err)
	}
	return r, nil
}

// reference measures the go-control-plane reference.
func (r *stormResult) reference(m *stormMesh, updates int) error {
	ref, err := startReference(m.byWeights)
	if err != nil {
		return err
	}
	defer ref.stop()
	t := time.Now()
	if err := ref.set(r.n, 0); err != nil {
		return err
	}
	r.refWarm = time.Since(t)
	all := everyProxy(r.n)
	t0 := time.Now()
	f, err := startFleet(ref.addr, r.n, false, "", "-reconnect")
	if err != nil {
		return err
	}
	defer f.stop()
	lat, err := f.waitKey(initialKey, all, t0, stormTimeout)
	if err != nil {
		return fmt.Errorf("storm: %w", err)
	}
	r.refStorm = slices.Max(lat)
	for k := 1; k <= updates; k++ {
		time.Sleep(settle)
		t0 := time.Now()
		if err := ref.set(r.n, k); err != nil {
			return err
		}
		lat, err := f.waitKey(weightKey(k), all, t0, waitTimeout)
		if err != nil {
			return fmt.Errorf("update %d: %w", k, err)
		}
		r.refUpdate = append(r.refUpdate, lat...)
	}
	return nil
}

// trellis measures a trellis server process.
func (r *stormResult) trellis(ctx context.Context, m *stormMesh, updates int) error {
	apiAddr, err := freeAddr()
	if err != nil {
		return err
	}
	xdsAddr, err := freeAddr()
	if err != nil {
		return err
	}
	p, err := startServerProc(m.dir, apiAddr, xdsAddr, "")
	if err != nil {
		return err
	}
	defer func() { _ = p.stop() }() // p is the restarted server by then
	heap0, err := p.heap()
	if err != nil {
		return err
	}
	all := everyProxy(r.n)
	t0 := time.Now()
	f, err := startFleet(xdsAddr, r.n, false, "", "-reconnect")
	if err != nil {
		return err
	}
	defer f.stop()
	lat, err := f.waitKey(initialKey, all, t0, stormTimeout)
	if err != nil {
		return fmt.Errorf("storm: %w", err)
	}
	r.storm = slices.Max(lat)
	heap1, err := p.heap()
	if err != nil {
		return err
	}
	r.heapPerProxy = float64(heap1-heap0) / float64(r.n)
	api := newClient(apiAddr)
	for k := 1; k <= updates; k++ {
		time.Sleep(settle)
		t0 := time.Now()
		if err := updateRoute(ctx, api, k); err != nil {
			return err
		}
		lat, err := f.waitKey(weightKey(k), all, t0, waitTimeout)
		if err != nil {
			return fmt.Errorf("update %d: %w", k, err)
		}
		r.update = append(r.update, lat...)
	}
	p, err = r.restartStorm(p, f, m.dir, apiAddr, xdsAddr, weightKey(updates))
	return err
}

// restartStorm kills the server with SIGKILL under the connected fleet,
// starts a new one on the same store and addresses, and times until every
// proxy has its configuration (weights key) again. It returns the new
// server, or the old one if none started.
func (r *stormResult) restartStorm(p *serverProc, f *fleet, dir, apiAddr, xdsAddr, key string) (*serverProc, error) {
	if err := p.kill(); err != nil {
		return p, err
	}
	t0 := time.Now()
	next, err := startServerProc(dir, apiAddr, xdsAddr, r.cpuProfile)
	if err != nil {
		return p, fmt.Errorf("restart: %w", err)
	}
	r.restartReady = time.Since(t0)
	lat, err := f.waitKey(key, everyProxy(r.n), t0, stormTimeout)
	if err != nil {
		return next, fmt.Errorf("restart storm: %w", err)
	}
	r.restart = slices.Max(lat)
	return next, nil
}

func everyProxy(n int) []bool {
	all := make([]bool, n)
	for i := range all {
		all[i] = true
	}
	return all
}

func (r stormResult) print() {
	fmt.Printf("\nstorm: %d proxies (SotW), mesh of %d backends behind routers, every proxy has all as backends; mesh written in %v\n",
		r.n, backends, r.meshSetup.Round(time.Millisecond))
	fmt.Printf("  reference (go-control-plane SnapshotCache, precomputed; %d SetSnapshot in %v):\n", r.n, r.refWarm.Round(time.Millisecond))
	fmt.Printf("    storm, last proxy configured:     %9v\n", ms(r.refStorm))
	fmt.Printf("    update, per proxy (%6d samples): p50 %9v  p99 %9v  max %9v\n", len(r.refUpdate),
		ms(pct(r.refUpdate, 0.5)), ms(pct(r.refUpdate, 0.99)), ms(slices.Max(r.refUpdate)))
	fmt.Printf("  trellis (server process, whole pipeline):\n")
	fmt.Printf("    storm, last proxy configured:     %9v  (%.2fx reference)\n", ms(r.storm), ratio(r.storm, r.refStorm))
	fmt.Printf("    kill -9 + restart, all configured: %9v  from the new process's start (listening after %v)\n", ms(r.restart), ms(r.restartReady))
	fmt.Printf("    update, per proxy (%6d samples): p50 %9v  p99 %9v  max %9v  (p99 %.2fx reference)\n", len(r.update),
		ms(pct(r.update, 0.5)), ms(pct(r.update, 0.99)), ms(slices.Max(r.update)), ratio(pct(r.update, 0.99), pct(r.refUpdate, 0.99)))
	fmt.Printf("    server heap in use per connected proxy: %.1f KiB\n", r.heapPerProxy/1024)
}

func ratio(a, b time.Duration) float64 { return float64(a) / float64(max(b, 1)) }

// printStormTable summarises the sizes as a Markdown table.
func printStormTable(rs []stormResult, updates int) {
	fmt.Printf("\n%d updates per size; times from the fleet's start (storm), the new server's start (restart), the write (update)\n\n", updates)
	fmt.Println("| proxies | storm: reference | trellis | ratio | kill -9 restart: all configured | update p99: reference | trellis | ratio | server heap / proxy |")
	fmt.Println("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range rs {
		fmt.Printf("| %d | %v | %v | %.2f | %v | %v | %v | %.2f | %.1f KiB |\n", r.n,
			ms(r.refStorm), ms(r.storm), ratio(r.storm, r.refStorm), ms(r.restart),
			ms(pct(r.refUpdate, 0.99)), ms(pct(r.update, 0.99)), ratio(pct(r.update, 0.99), pct(r.refUpdate, 0.99)),
			r.heapPerProxy/1024)
	}
}
