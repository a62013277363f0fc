package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/appmesh"

	"github.com/trellis-mesh/trellis/internal/server"
	"github.com/trellis-mesh/trellis/internal/xdsserver"
)

const (
	// waitTimeout gives up on a step that does not converge.
	waitTimeout = 60 * time.Second
	// settle separates updates, so each starts with ACKs in and the
	// control plane idle, as edits by people or pipelines would.
	settle = 50 * time.Millisecond
)

// params describe one run.
type params struct {
	clients, updates, concurrency, translateIters int
	delta                                         bool
	cpuProfile, memProfile, childCPUProfile       string
	perUpdateLog, varied                          bool
	// etcd, when set, are the etcd endpoints the server stores into
	// (a fresh prefix per run) instead of a bbolt file.
	etcd []string
}

// result holds one run's figures.
type result struct {
	params
	setup           time.Duration   // creating the mesh through the API
	apiCalls        int             // calls that took
	connect         time.Duration   // child start → every proxy has route 0
	apiUpdate       []time.Duration // UpdateRoute round trips
	perNode         []time.Duration // write → a proxy's receipt, every proxy of every update
	perUpdate       []time.Duration // write → the last proxy's receipt, per update
	heap            float64         // control-plane heap per connected proxy, bytes
	peakHeap        float64         // largest heap per proxy seen after an update, bytes
	gogc            int             // the control plane's GC target
	heapBase        int64           // heap in use before the proxies connected
	affected        []bool          // the proxies an update reaches
	pushed          counts          // responses received during the updates
	translate       time.Duration   // irgen + xdsgen for one client proxy, from scratch
	translateShared time.Duration   // irgen per client in a rebuild, the outbound part shared
}

func (p params) mode() string {
	if p.delta {
		return "delta"
	}
	return "SotW"
}

// run measures one configuration end to end against a fresh server.
func run(p params) (result, error) {
	r := result{params: p}
	dir, err := os.MkdirTemp("", "trellis-convergence-")
	if err != nil {
		return r, err
	}
	defer os.RemoveAll(dir)
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	r.gogc = server.TuneGC() // as trellis server does
	cfg := server.Config{DataDir: dir, APIAddr: "127.0.0.1:0", XDSAddr: "127.0.0.1:0",
		Region: region, AccountID: accountID, Logger: log}
	if len(p.etcd) > 0 {
		cfg.Store = server.StoreConfig{Kind: server.StoreEtcd, EtcdEndpoints: p.etcd,
			EtcdPrefix: fmt.Sprintf("/convergence/%d-%d-%s/", os.Getpid(), p.clients, p.mode())}
	}
	srv, err := server.Start(cfg)
	if err != nil {
		return r, fmt.Errorf("start server: %w", err)
	}
	stopped := false
	defer func() {
		if !stopped {
			_ = srv.Stop()
		}
	}()
	if err := r.measure(srv); err != nil {
		return r, err
	}
	stopped = true
	if err := srv.Stop(); err != nil {
		return r, fmt.Errorf("stop server: %w", err)
	}
	if len(p.etcd) > 0 {
		return r, nil // translation times read the bbolt file; they do not depend on the store
	}
	r.translate, r.translateShared, err = translateTime(dir, p.clients, p.translateIters, p.varied)
	return r, err
}

// measure builds the mesh, connects the fleet and runs the updates.
func (r *result) measure(srv *server.Server) error {
	ctx := context.Background()
	api := newClient(srv.Addr())
	t := time.Now()
	calls, err := createMesh(ctx, api, r.clients, r.concurrency, r.varied)
	if err != nil {
		return err
	}
	r.setup, r.apiCalls = time.Since(t), calls
	heap0 := heapInUse()
	r.heapBase = heap0
	t = time.Now()
	f, err := startFleet(srv.XDSAddr(), r.clients, r.delta, r.childCPUProfile)
	if err != nil {
		return err
	}
	defer f.stop()
	r.affected = affected(r.clients, r.varied)
	if _, err := f.waitKey(initialKey, r.affected, t, waitTimeout); err != nil {
		return fmt.Errorf("initial configuration: %w", err)
	}
	r.connect = time.Since(t)
	if err := waitAcked(srv.Addr(), r.clients); err != nil {
		return err
	}
	r.heap = float64(heapInUse()-heap0) / float64(r.clients)
	before, err := f.counts()
	if err != nil {
		return err
	}
	if err := writeHeapProfile(r.memProfile, ".before"); err != nil {
		return err
	}
	stopProfile, err := startProfile(r.cpuProfile)
	if err != nil {
		return err
	}
	err = r.updatesLoop(ctx, api, f)
	stopProfile()
	if err != nil {
		return err
	}
	if err := writeHeapProfile(r.memProfile, ""); err != nil {
		return err
	}
	after, err := f.counts()
	r.pushed = after.minus(before)
	return err
}

// updatesLoop runs the updates one after the other: each changes route 0's
// weights and waits until every proxy has them.
func (r *result) updatesLoop(ctx context.Context, api *appmesh.Client, f *fleet) error {
	for k := 1; k <= r.updates; k++ {
		time.Sleep(settle)
		t0 := time.Now()
		if err := updateRoute(ctx, api, k); err != nil {
			return err
		}
		r.apiUpdate = append(r.apiUpdate, time.Since(t0))
		lat, err := f.waitKey(weightKey(k), r.affected, t0, waitTimeout)
		if err != nil {
			return fmt.Errorf("update %d: %w", k, err)
		}
		r.perNode = append(r.perNode, lat...)
		r.perUpdate = append(r.perUpdate, slices.Max(lat))
		var mem runtime.MemStats
		runtime.ReadMemStats(&mem) // outside the timed span: the update has converged
		r.peakHeap = max(r.peakHeap, float64(int64(mem.HeapAlloc)-r.heapBase)/float64(r.clients))
		if r.perUpdateLog {
			s := slices.Sorted(slices.Values(lat))
			fmt.Printf("    update %2d: p50 %9v  p90 %9v  p99 %9v  max %9v\n", k,
				ms(s[len(s)/2]), ms(s[len(s)*9/10]), ms(s[len(s)*99/100]), ms(s[len(s)-1]))
		}
	}
	return nil
}

// waitAcked polls the server's /debug/xds until n streams have ACKed what
// they were last sent of every type.
func waitAcked(apiAddr string, n int) error {
	deadline := time.Now().Add(waitTimeout)
	for {
		acked, err := countAcked(apiAddr)
		if err != nil {
			return err
		}
		if acked >= n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d proxies ACKed their configuration within %v", acked, n, waitTimeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func countAcked(apiAddr string) (int, error) {
	resp, err := http.Get("http://" + apiAddr + "/debug/xds")
	if err != nil {
		return 0, fmt.Errorf("xds status: %w", err)
	}
	defer resp.Body.Close()
	var st []xdsserver.NodeStatus
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return 0, fmt.Errorf("xds status: %w", err)
	}
	acked := 0
	for _, ns := range st {
		ok := len(ns.Types) >= 3
		for _, ts := range ns.Types {
			ok = ok && ts.AckedVersion == ts.SentVersion
		}
		if ok {
			acked++
		}
	}
	return acked, nil
}

// heapInUse is HeapInuse after a full collection.
func heapInUse() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapInuse)
}

// startProfile starts a CPU profile into path ("" profiles nothing).
func startProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// writeHeapProfile writes the heap profile (allocations since the start
// included) to path+suffix (an empty path writes nothing). The profile
// taken before the updates (suffix ".before") is the base that isolates
// what the updates allocated: go tool pprof -base path.before path.
func writeHeapProfile(path, suffix string) error {
	if path == "" {
		return nil
	}
	runtime.GC() // the profile reflects the heap as of the last collection
	f, err := os.Create(path + suffix)
	if err != nil {
		return fmt.Errorf("heap profile: %w", err)
	}
	defer f.Close()
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		return fmt.Errorf("heap profile: %w", err)
	}
	return nil
}
