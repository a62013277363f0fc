// Command telemetrycost measures what the live golden signals cost the
// control plane: N simulated Envoys each stream a realistic set of stats
// (a sidecar with -backends egress clusters: about a thousand metric
// families, forty of them histograms, all "used") to the MetricsService
// every -flush, as Envoy's metrics_service sink does, staggered over the
// period. The server side is the one trellis server runs: xdsserver's
// gRPC server with internal/telemetry registered on it. The simulated
// Envoys live in a child process, so the CPU (getrusage of this process)
// and heap figures are the control plane's alone; both processes share the
// machine's cores. It prints CPU as a percentage of one core, heap per
// sidecar, and what was received. It asserts nothing.
//
//	go run ./bench/telemetrycost -sidecars 1000 -flush 5s -duration 60s
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/experimental"

	"github.com/trellis-mesh/trellis/bench/internal/adsclient"
	"github.com/trellis-mesh/trellis/internal/server"
	"github.com/trellis-mesh/trellis/internal/telemetry"
	"github.com/trellis-mesh/trellis/internal/xdsserver"
)

func main() {
	var (
		sidecars = flag.Int("sidecars", 1000, "simulated Envoys (one gRPC connection and metrics stream each)")
		flush    = flag.Duration("flush", 5*time.Second, "stats flush interval of every Envoy")
		duration = flag.Duration("duration", 60*time.Second, "measurement period after warm-up")
		backends = flag.Int("backends", 10, "egress clusters per sidecar (each a callee virtual node)")
		shape    = flag.String("shape", shapeEvery, "what each flush holds: every (each cluster's and HTTP manager's every stat used, the heavy case) or envoy (the family counts a real Envoy 1.40 with Trellis's bootstrap sends)")
		child    = flag.String("child", "", "internal: run the simulated Envoys against this address")
		profile  = flag.String("cpuprofile", "", "write the server's CPU profile of the measurement to this file")
		window   = flag.Int("window", 0, "HTTP/2 initial stream and connection window of the server in bytes (0: gRPC's default)")
		readBuf  = flag.Int("readbuf", 0, "gRPC read buffer of the server in bytes (grpc.ReadBufferSize; 0: gRPC's default)")
		dirty    = flag.Bool("dirtypool", false, "give the server a buffer pool that does not zero reused buffers (gRPC's default does)")
	)
	flag.Parse()
	adsclient.RaiseFDLimit()
	var err error
	if *child != "" {
		err = runSidecars(*child, *sidecars, *backends, *shape, *flush)
	} else {
		err = run(*sidecars, *backends, *shape, *flush, *duration, *profile, serverOptions(*window, *readBuf, *dirty))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "telemetrycost:", err)
		os.Exit(1)
	}
}

func run(n, backends int, shape string, flush, duration time.Duration, profile string, extra []grpc.ServerOption) error {
	fmt.Printf("GOGC=%d (as trellis server runs)\n", server.TuneGC())
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	reg := prometheus.NewRegistry()
	tel := telemetry.New(telemetry.Options{Logger: log, Registerer: reg})
	opts := append([]grpc.ServerOption{tel.ServerOption()}, extra...)
	srv := xdsserver.New(xdsserver.Options{Logger: log, Services: tel.RegisterService, ServerOptions: opts})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	defer func() { cancel(); <-served; tel.Wait() }()

	if _, ok := shapes[shape]; !ok {
		return fmt.Errorf("-shape %q: want %s or %s", shape, shapeEvery, shapeEnvoy)
	}
	fams, hists, size := sampleShape(backends, shape)
	fmt.Printf("telemetrycost: %d sidecars, flush every %v, shape %s: %d metric families per flush (%d histograms), %d bytes per flush\n",
		n, flush, shape, fams, hists, size)
	heap0 := heapInUse()
	c, err := adsclient.StartChild(os.Stderr, "-child", ln.Addr().String(), "-sidecars", fmt.Sprint(n),
		"-backends", fmt.Sprint(backends), "-shape", shape, "-flush", flush.String())
	if err != nil {
		return err
	}
	defer func() { _ = c.Stop() }()
	// Warm-up: every stream connected and two flushes seen.
	if err := waitMessages(reg, float64(2*n*batches(fams)), 2*flush+60*time.Second); err != nil {
		return err
	}
	stopProfile := func() {}
	if profile != "" {
		stop, err := startProfile(profile)
		if err != nil {
			return err
		}
		stopProfile = stop
	}
	// Gathering the registry is a scrape (timed below); keep it out of
	// the measured interval.
	msgs0 := counter(reg, "trellis_telemetry_messages_total")
	cpu0, t0 := cpuTime(), time.Now()
	time.Sleep(duration)
	cpu1, elapsed := cpuTime(), time.Since(t0)
	stopProfile() // the measured interval only, not the scrape below
	msgs1 := counter(reg, "trellis_telemetry_messages_total")
	scrape0 := cpuTime()
	series := gatherCount(reg)
	scrape := cpuTime() - scrape0
	heap1 := heapInUse()
	cpu := (cpu1 - cpu0).Seconds() / elapsed.Seconds()
	fmt.Printf("measured %v: %.0f messages (%.1f/s), %d windows kept\n", elapsed.Round(time.Second), msgs1-msgs0,
		(msgs1-msgs0)/elapsed.Seconds(), len(tel.Snapshot("")))
	perMsg := 1000 * (cpu1 - cpu0).Seconds() / (msgs1 - msgs0)
	fmt.Printf("control plane CPU: %.2f%% of one core; %.3f ms per message received; at exactly %d flushes per %v: %.2f%%\n",
		100*cpu, perMsg, n, flush, perMsg/1000*float64(n*batches(fams))/flush.Seconds()*100)
	fmt.Printf("one /metrics scrape (%d series): %v CPU\n", series, scrape.Round(time.Millisecond))
	fmt.Printf("control plane heap in use: %s per sidecar (%d MiB for %d)\n", kib(heap1-heap0, n), (heap1-heap0)>>20, n)
	return nil
}

// serverOptions are the experiments' gRPC server options.
func serverOptions(window, readBuf int, dirty bool) []grpc.ServerOption {
	var opts []grpc.ServerOption
	if window > 0 {
		opts = append(opts, grpc.InitialWindowSize(int32(window)), grpc.InitialConnWindowSize(int32(window)))
	}
	if readBuf > 0 {
		opts = append(opts, grpc.ReadBufferSize(readBuf))
	}
	if dirty {
		opts = append(opts, experimental.BufferPool(&dirtyPool{}))
	}
	return opts
}

// waitMessages waits until the receiver counted at least want messages.
func waitMessages(reg *prometheus.Registry, want float64, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for counter(reg, "trellis_telemetry_messages_total") < want {
		if time.Now().After(deadline) {
			return fmt.Errorf("warm-up: %.0f of %.0f messages after %v", counter(reg, "trellis_telemetry_messages_total"), want, timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return nil
}

func counter(reg *prometheus.Registry, name string) float64 {
	fams, err := reg.Gather()
	if err != nil {
		return 0
	}
	for _, f := range fams {
		if f.GetName() == name && len(f.GetMetric()) > 0 {
			return value(f.GetMetric()[0])
		}
	}
	return 0
}

// gatherCount gathers reg once, as a scrape does, and counts the series.
func gatherCount(reg *prometheus.Registry) int {
	fams, _ := reg.Gather()
	n := 0
	for _, f := range fams {
		n += len(f.GetMetric())
	}
	return n
}

func value(m *dto.Metric) float64 {
	if m.GetCounter() != nil {
		return m.GetCounter().GetValue()
	}
	return m.GetGauge().GetValue()
}

// cpuTime is this process's user + system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// heapInUse is the live heap after a collection.
func heapInUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

func kib(b uint64, n int) string {
	if int64(b) < 0 {
		return "0 KiB"
	}
	return fmt.Sprintf("%.1f KiB", float64(b)/1024/float64(n))
}

// startProfile writes a CPU profile to path until stop.
func startProfile(path string) (stop func(), err error) {
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

// drain discards r until EOF (the child's lifeline is its stdin).
func drain(r io.Reader, cancel context.CancelFunc) { _, _ = io.Copy(io.Discard, r); cancel() }
