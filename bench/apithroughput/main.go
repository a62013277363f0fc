// Command apithroughput measures the App Mesh API of a real `trellis server`
// over HTTP: create, describe and list throughput with N virtual nodes in
// one mesh. It starts the server as a child process on a fresh data dir
// (fsync on, as in production) unless -endpoint points at a running one,
// and prints figures; it asserts nothing. With -store etcd it starts
// -replicas servers on one etcd cluster (a 3-member loopback cluster of
// its own unless -etcd-endpoints names one) and spreads the calls over
// the replicas round-robin.
//
//	go build -o bin/trellis ./cmd/trellis && go run ./bench/apithroughput -trellis bin/trellis
//	go run ./bench/apithroughput -trellis bin/trellis -store etcd -replicas 3
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/trellis-mesh/trellis/bench/internal/etcdbench"
)

func main() {
	var (
		trellis     = flag.String("trellis", "bin/trellis", "trellis binary to start when -endpoint is empty")
		endpoint    = flag.String("endpoint", "", "API endpoint of a running server (default: start one)")
		nodes       = flag.Int("nodes", 10000, "virtual nodes to create in one mesh")
		describes   = flag.Int("describes", 50000, "DescribeVirtualNode calls")
		listPasses  = flag.Int("list-passes", 5, "full paginated ListVirtualNodes passes (100 per page)")
		concurrency = flag.Int("concurrency", 32, "concurrent clients")
		storeKind   = flag.String("store", "bolt", "store of the started servers: bolt or etcd")
		replicas    = flag.Int("replicas", 1, "servers to start on the one store (etcd only)")
		etcdEPs     = flag.String("etcd-endpoints", "", "etcd endpoints for -store etcd (default: start a 3-member loopback cluster)")
		pprofDir    = flag.String("pprof", "", "write each started server's CPU profiles of the create and describe phases to this directory (create-<i>.pprof, describe-<i>.pprof)")
	)
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	var cleanups []func()
	cleanup := func() {
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
		cleanups = nil
	}
	defer cleanup()
	endpoints := []string{*endpoint}
	var profiled []string // the started servers' metrics listeners (-pprof)
	if *endpoint == "" {
		if *storeKind == "etcd" && *etcdEPs == "" {
			c := etcdbench.Start()
			cleanups = append(cleanups, c.Close)
			*etcdEPs = strings.Join(c.Endpoints, ",")
		}
		if *storeKind != "etcd" {
			*replicas = 1
		}
		endpoints = endpoints[:0]
		for range *replicas {
			ep, stop, err := startServer(*trellis, *pprofDir != "", storeArgs(*storeKind, *etcdEPs)...)
			if err != nil {
				log.Error("start server", "err", err)
				cleanup()
				os.Exit(1)
			}
			cleanups = append(cleanups, stop)
			endpoints = append(endpoints, ep.api)
			profiled = append(profiled, ep.metrics)
		}
	}
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *concurrency * 2}}
	cs := make([]*client, len(endpoints))
	for i, ep := range endpoints {
		cs[i] = &client{base: ep, http: hc}
	}
	c := cs[0]
	if err := c.do("PUT", "/v20190125/meshes", `{"meshName":"bench"}`); err != nil {
		log.Error("create mesh", "err", err)
		cleanup()
		os.Exit(1)
	}
	fmt.Printf("trellis API throughput: %d virtual nodes in one mesh, %d concurrent clients, store %s, %d replica(s), server fsync on\n",
		*nodes, *concurrency, *storeKind, len(cs))
	fences := func() float64 { return counterSum(profiled, "trellis_etcd_read_fences_total") }
	f0 := fences()
	stopProfiles := startProfiles(*pprofDir, "create", profiled)
	creates := run(*nodes, *concurrency, func(i int) error {
		body := fmt.Sprintf(`{"virtualNodeName":"node-%05d","clientToken":"tok-%d","spec":{"listeners":[{"portMapping":{"port":8080,"protocol":"http"}}],"serviceDiscovery":{"dns":{"hostname":"node-%05d.bench.local"}},"backends":[{"virtualService":{"virtualServiceName":"svc-%d.bench.local"}}]}}`, i, i, i, i%100)
		return cs[i%len(cs)].do("PUT", "/v20190125/meshes/bench/virtualNodes", body)
	})
	stopProfiles()
	report("CreateVirtualNode", creates)
	f1 := fences()
	stopProfiles = startProfiles(*pprofDir, "describe", profiled)
	describe := run(*describes, *concurrency, func(i int) error {
		return cs[i%len(cs)].do("GET", fmt.Sprintf("/v20190125/meshes/bench/virtualNodes/node-%05d", rand.IntN(*nodes)), "")
	})
	stopProfiles()
	report("DescribeVirtualNode", describe)
	if *storeKind == "etcd" && len(profiled) > 0 {
		f2 := fences()
		fmt.Printf("etcd read fences (all replicas): %.2f per create, %.2f per describe\n",
			(f1-f0)/float64(*nodes), (f2-f1)/float64(*describes))
		sum := func(name string) float64 { return counterSum(profiled, name) }
		fmt.Printf("mesh view (all replicas): %.0f watch responses in %.0f snapshots; watches that fell behind the shared log: %.0f\n",
			sum("trellis_meshview_watch_responses_total"), sum("trellis_meshview_snapshots_total"),
			sum("trellis_etcd_watch_log_fallbacks_total"))
	}
	pages := (*nodes + 99) / 100
	lists := run(*listPasses, min(*listPasses, *concurrency), func(int) error {
		return c.listAll("/v20190125/meshes/bench/virtualNodes?limit=100")
	})
	report(fmt.Sprintf("ListVirtualNodes full pass (%d pages)", pages), lists)
	fmt.Printf("%-36s %8d ops  %9.0f ops/s   (%.0f items/s)\n", "ListVirtualNodes page of 100", pages**listPasses,
		float64(pages**listPasses)/lists.wall.Seconds(), float64(*nodes**listPasses)/lists.wall.Seconds())
}

// result is the outcome of a run: wall time, per-call latencies, errors.
type result struct {
	n       int
	wall    time.Duration
	lat     []time.Duration
	errors  int64
	lastErr error
}

// run calls op n times from conc goroutines and measures each call.
func run(n, conc int, op func(i int) error) result {
	var next atomic.Int64
	var errs atomic.Int64
	var lastErr atomic.Value
	lat := make([]time.Duration, n)
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				t0 := time.Now()
				if err := op(i); err != nil {
					errs.Add(1)
					lastErr.Store(err)
				}
				lat[i] = time.Since(t0)
			}
		}()
	}
	wg.Wait()
	r := result{n: n, wall: time.Since(start), lat: lat, errors: errs.Load()}
	if e, ok := lastErr.Load().(error); ok {
		r.lastErr = e
	}
	return r
}

func report(name string, r result) {
	sort.Slice(r.lat, func(i, j int) bool { return r.lat[i] < r.lat[j] })
	q := func(p float64) time.Duration { return r.lat[int(p*float64(len(r.lat)-1))] }
	fmt.Printf("%-36s %8d ops  %9.0f ops/s   p50 %-10v p99 %-10v errors %d\n",
		name, r.n, float64(r.n)/r.wall.Seconds(), q(0.50).Round(time.Microsecond), q(0.99).Round(time.Microsecond), r.errors)
	if r.lastErr != nil {
		fmt.Printf("  last error: %v\n", r.lastErr)
	}
}

type client struct {
	base string
	http *http.Client
}

func (c *client) do(method, path, body string) error {
	_, err := c.call(method, path, body)
	return err
}

func (c *client) call(method, path, body string) ([]byte, error) {
	req, err := http.NewRequest(method, c.base+path, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("%s %s: %d %s %s", method, path, resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"), b)
	}
	return b, nil
}

// listAll pages through a list until nextToken is absent.
func (c *client) listAll(path string) error {
	token := ""
	for {
		p := path
		if token != "" {
			p += "&nextToken=" + token
		}
		b, err := c.call("GET", p, "")
		if err != nil {
			return err
		}
		token = extractToken(b)
		if token == "" {
			return nil
		}
	}
}

func extractToken(b []byte) string {
	const key = `"nextToken":"`
	s := string(b)
	i := strings.Index(s, key)
	if i < 0 {
		return ""
	}
	s = s[i+len(key):]
	return s[:strings.IndexByte(s, '"')]
}

// serverAddrs are a started server's API endpoint and, with -pprof, its
// metrics listener's address.
type serverAddrs struct{ api, metrics string }

// startServer runs `trellis server` on a fresh data dir and a free port,
// and returns its endpoint once it logs that it started.
func startServer(bin string, pprof bool, extra ...string) (serverAddrs, func(), error) {
	dir, err := os.MkdirTemp("", "trellis-bench-*")
	if err != nil {
		return serverAddrs{}, nil, err
	}
	args := append([]string{"server", "--auth=false", "--data-dir", dir, "--api-addr", "127.0.0.1:0", "--xds-addr", "127.0.0.1:0",
		"--log-format", "json", "--log-level", "info"}, extra...)
	if pprof {
		args = append(args, "--metrics-addr", "127.0.0.1:0", "--metrics-pprof")
	}
	cmd := exec.Command(bin, args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return serverAddrs{}, nil, err
	}
	if err := cmd.Start(); err != nil {
		return serverAddrs{}, nil, fmt.Errorf("start %s: %w", bin, err)
	}
	stop := func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
		os.RemoveAll(dir)
	}
	addrs, err := waitForAddr(stderr)
	if err != nil {
		stop()
		return serverAddrs{}, nil, err
	}
	go io.Copy(io.Discard, stderr)
	addrs.api = "http://" + addrs.api
	return addrs, stop, nil
}

// waitForAddr reads the server's log up to its "started" line, which
// names the API address; the metrics listener's line comes before it.
func waitForAddr(r io.Reader) (serverAddrs, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	found := make(chan serverAddrs, 1)
	go func() {
		var a serverAddrs
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			if m, ok := logField(sc.Text(), "metrics"); ok {
				a.metrics = m
			}
			if api, ok := logField(sc.Text(), "api"); ok {
				a.api = api
				found <- a
				return
			}
		}
	}()
	select {
	case a := <-found:
		return a, nil
	case <-ctx.Done():
		return serverAddrs{}, fmt.Errorf("server did not report its address within 10s")
	}
}

// logField returns a string field of a JSON log line.
func logField(line, name string) (string, bool) {
	_, rest, ok := strings.Cut(line, `"`+name+`":"`)
	if !ok {
		return "", false
	}
	return rest[:strings.IndexByte(rest, '"')], true
}
