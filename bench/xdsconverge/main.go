// Command xdsconverge measures how fast configuration reaches connected
// proxies through internal/xdsserver. It serves ADS in-process on
// 127.0.0.1:0, starts a child process of itself holding N simulated Envoys
// (each a distinct node id with its own gRPC connection and ADS stream,
// ACKing every response), gives every node ~10 clusters, 2 listeners and 2
// route configurations, waits until all ACKed version 1, then runs K
// updates that change the route weights of every node. It prints the
// convergence times (SetResources to the server receiving the node's ACK,
// read from the ACK times in Server.Status), the time SetResources takes for
// all N nodes, and the server's heap per connected proxy. It asserts
// nothing.
//
// The clients live in a child process so the heap figures are the control
// plane's alone; both processes share the machine's cores, as a co-located
// Envoy fleet would not.
//
//	go run ./bench/xdsconverge -clients 1000          # state of the world
//	go run ./bench/xdsconverge -clients 1000 -delta   # delta xDS
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/trellis-mesh/trellis/bench/internal/adsclient"
	"github.com/trellis-mesh/trellis/internal/server"
	"github.com/trellis-mesh/trellis/internal/xdsserver"
)

func main() {
	var (
		clients = flag.Int("clients", 100, "simulated proxies (one ADS stream and connection each)")
		delta   = flag.Bool("delta", false, "use delta xDS instead of state of the world")
		updates = flag.Int("updates", 20, "route weight updates pushed to every node")
		child   = flag.String("child", "", "internal: run the simulated proxies against this address")
	)
	flag.Parse()
	adsclient.RaiseFDLimit()
	var err error
	if *child != "" {
		err = runClients(*child, *clients, *delta)
	} else {
		err = run(*clients, *updates, *delta)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "xdsconverge:", err)
		os.Exit(1)
	}
}

// bench is one run's server side.
type bench struct {
	n       int
	delta   bool
	srv     *xdsserver.Server
	reg     *prometheus.Registry
	configs []nodeConfig
}

func run(n, updates int, delta bool) error {
	b := &bench{n: n, delta: delta, reg: prometheus.NewRegistry()}
	fmt.Printf("GOGC=%d (as trellis server runs)\n", server.TuneGC())
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	b.srv = xdsserver.New(xdsserver.Options{Logger: log, Registerer: b.reg})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- b.srv.Serve(ctx, ln) }()
	defer func() { cancel(); <-served }()

	mode := "state of the world (ordered ADS)"
	if delta {
		mode = "delta"
	}
	fmt.Printf("xdsconverge: %d proxies, %s, %d updates; per node %d clusters, 2 listeners, %d route configs\n",
		n, mode, updates, backends+1, routeNames)
	fmt.Println("clients: child process, one grpc.ClientConn (TCP connection) and one ADS stream per proxy")

	heap0 := heapInUse()
	setV1, err := b.build()
	if err != nil {
		return err
	}
	heap1 := heapInUse()
	stop, err := b.startClients(ln.Addr().String())
	if err != nil {
		return err
	}
	defer stop()
	t0 := time.Now()
	if _, err := b.waitConverged(1, t0); err != nil {
		return err
	}
	fmt.Printf("connect + initial config ACKed by all: %v\n", time.Since(t0).Round(time.Millisecond))
	heap2 := heapInUse()
	res, err := b.updates(updates)
	if err != nil {
		return err
	}
	res.print(n, setV1)
	fmt.Printf("server heap in use: snapshots %s/node, streams %s/proxy, total %s/proxy\n",
		kib(heap1-heap0, n), kib(heap2-heap1, n), kib(heap2-heap0, n))
	b.printPushes()
	return nil
}

// build makes every node's configuration and publishes version 1 before
// any proxy connects; it returns how long SetResources took for all.
func (b *bench) build() (time.Duration, error) {
	b.configs = make([]nodeConfig, b.n)
	sets := make([]map[string][]types.Resource, b.n)
	for i := range b.n {
		nc, err := newNodeConfig(i)
		if err != nil {
			return 0, err
		}
		b.configs[i] = nc
		sets[i] = nc.resources(1)
	}
	t0 := time.Now()
	for i, set := range sets {
		if err := b.srv.SetResources(nodeID(i), "1", set); err != nil {
			return 0, fmt.Errorf("set v1: %w", err)
		}
	}
	return time.Since(t0), nil
}

// startClients starts the child process; stop closes its stdin and waits.
func (b *bench) startClients(addr string) (stop func(), err error) {
	args := []string{"-child", addr, "-clients", fmt.Sprint(b.n)}
	if b.delta {
		args = append(args, "-delta")
	}
	c, err := adsclient.StartChild(os.Stderr, args...)
	if err != nil {
		return nil, err
	}
	return func() { _ = c.Stop() }, nil
}
