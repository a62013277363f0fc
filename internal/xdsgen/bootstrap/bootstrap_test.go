package bootstrap

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trellis-mesh/trellis/internal/golden"

	"github.com/trellis-mesh/trellis/internal/xdsgen/internal/envoytest"
)

var update = flag.Bool("update", false, "rewrite testdata/*.yaml from the current rendering")

// goldenConfigs are the bootstrap shapes a sidecar produces.
var goldenConfigs = map[string]Config{
	// App Mesh-like sidecar: DNS name of the server, SDS from SPIRE,
	// node metadata, admin on all interfaces.
	"sidecar-dns-sds": {
		NodeID:        "mesh/demo/virtualNode/front",
		Metadata:      map[string]any{"trellis.version": "dev", "aws.appmesh.platformInfo": map[string]any{"k8sVersion": "v1.31"}},
		AdminAddress:  "0.0.0.0",
		AdminPort:     9901,
		XDSHost:       "trellis.trellis-system.svc.cluster.local",
		XDSPort:       15010,
		SDSSocketPath: "/run/spire/sockets/agent.sock",
	},
	// Trellis sidecar enrolled with the built-in CA: xDS over mTLS with
	// its SVID from its own SDS server; the server must name its host.
	"sidecar-xds-mtls": {
		NodeID:        "mesh/demo/virtualNode/front",
		XDSHost:       "10.0.0.2",
		XDSPort:       9081,
		XDSReplicas:   []HostPort{{Host: "trellis-1.example.org", Port: 9081}},
		SDSSocketPath: "/tmp/trellis-sds-1.sock",
		XDSTLS:        &XDSTLS{CertSecret: "default", TrustSecret: "trellis.local"},
	},
	// Stats streamed to the server's MetricsService every 2 s
	// (2e9 ns: the live golden signals).
	"metrics-service": {
		NodeID:         "mesh/demo/virtualNode/front",
		XDSHost:        "10.0.0.2",
		XDSPort:        15010,
		MetricsService: &MetricsService{FlushInterval: 2e9},
	},
	// Minimal: server by IP, defaults for admin and cluster.
	"gateway-ip": {
		NodeID:  "mesh/demo/virtualGateway/gw",
		XDSHost: "10.0.0.2",
		XDSPort: 15010,
	},
	// Three replicas by IP: one STATIC cluster of three endpoints with
	// the failover health check.
	"sidecar-replicas": {
		NodeID:      "mesh/demo/virtualNode/front",
		XDSHost:     "10.0.0.2",
		XDSPort:     15010,
		XDSReplicas: []HostPort{{Host: "10.0.0.3", Port: 15010}, {Host: "10.0.0.4", Port: 15011}},
	},
	// Local relay over a Unix socket, incremental xDS.
	"unix-delta": {
		NodeID:        "mesh/demo/virtualNode/back",
		Cluster:       "back",
		XDSUnixSocket: "/var/run/trellis/xds.sock",
		Delta:         true,
	},
	// ENABLE_ENVOY_STATS_TAGS + DogStatsD over UDP + X-Ray with a
	// sampling rate, flush every 10 s.
	"telemetry-xray-dogstatsd": {
		NodeID:  "mesh/demo/virtualNode/front",
		XDSHost: "10.0.0.2",
		XDSPort: 15010,
		Telemetry: Telemetry{
			StatsTags:     []StatsTag{{Name: "appmesh.mesh", Value: "demo"}, {Name: "appmesh.virtual_node", Value: "front"}},
			FlushInterval: 10 * time.Second,
			DogStatsD:     &DogStatsD{Host: "127.0.0.1", Port: 8125},
			Tracer: &Tracer{Kind: TracerXRay, Host: "127.0.0.1", Port: 2000, ServiceName: "demo/front",
				XRay: XRaySettings{Mesh: "demo", Node: "front",
					SamplingRules: `{"version":2,"default":{"fixed_target":1,"rate":0.5},"rules":[]}`}},
		},
	},
	// Jaeger over Zipkin JSON; DogStatsD over a Unix socket.
	"telemetry-zipkin-uds": {
		NodeID:  "mesh/demo/virtualGateway/gw",
		XDSHost: "10.0.0.2",
		XDSPort: 15010,
		Telemetry: Telemetry{
			StatsTags: []StatsTag{{Name: "appmesh.mesh", Value: "demo"}, {Name: "appmesh.virtual_gateway", Value: "gw"}},
			DogStatsD: &DogStatsD{SocketPath: "/var/run/datadog/dsd.socket"},
			Tracer:    &Tracer{Kind: TracerZipkin, Host: "jaeger.observability", Port: 9411, ZipkinJSON: true},
		},
	},
	"telemetry-datadog": {
		NodeID:  "mesh/demo/virtualNode/back",
		XDSHost: "10.0.0.2",
		XDSPort: 15010,
		Telemetry: Telemetry{
			Tracer: &Tracer{Kind: TracerDatadog, Host: "127.0.0.1", Port: 8126, ServiceName: "envoy-demo/back"},
		},
	},
	"telemetry-otel": {
		NodeID:  "mesh/demo/virtualNode/back",
		XDSHost: "10.0.0.2",
		XDSPort: 15010,
		Telemetry: Telemetry{
			Tracer: &Tracer{Kind: TracerOpenTelemetry, Host: "otel-collector", Port: 4317, ServiceName: "demo/back"},
		},
	},
}

func TestRenderGolden(t *testing.T) {
	for name, cfg := range goldenConfigs {
		t.Run(name, func(t *testing.T) {
			got, err := Render(cfg)
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			path := filepath.Join("testdata", name+".yaml")
			golden.Check(t, path, got, *update)
		})
	}
	pruneStale(t)
}

// pruneStale deletes goldens no config produces any more.
func pruneStale(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if _, ok := goldenConfigs[strings.TrimSuffix(filepath.Base(f), ".yaml")]; !ok {
			t.Logf("removing stale golden %s", f)
			if err := os.Remove(f); err != nil {
				t.Error(err)
			}
		}
	}
}

func TestRenderDeterministic(t *testing.T) {
	for name, cfg := range goldenConfigs {
		a, errA := Render(cfg)
		b, errB := Render(cfg)
		if errA != nil || errB != nil || !bytes.Equal(a, b) {
			t.Errorf("%s: renders differ (errors %v, %v)", name, errA, errB)
		}
	}
}

func TestRenderErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no node id", Config{XDSHost: "h", XDSPort: 1}, "empty node id"},
		{"no xds", Config{NodeID: "n"}, "needs a unix socket or a host and port"},
		{"host without port", Config{NodeID: "n", XDSHost: "h"}, "needs a unix socket or a host and port"},
		{"socket and host", Config{NodeID: "n", XDSHost: "h", XDSPort: 1, XDSUnixSocket: "/s"}, "exclusive"},
		{"socket and replicas", Config{NodeID: "n", XDSUnixSocket: "/s", XDSReplicas: []HostPort{{Host: "h", Port: 1}}}, "replicas need host and port"},
		{"replica without port", Config{NodeID: "n", XDSHost: "h", XDSPort: 1, XDSReplicas: []HostPort{{Host: "h2"}}}, "xds replica 0 needs a host and a port"},
		{"bad metadata", Config{NodeID: "n", XDSHost: "h", XDSPort: 1, Metadata: map[string]any{"c": make(chan int)}},
			"node metadata"},
		{"tag without name", Config{NodeID: "n", XDSHost: "h", XDSPort: 1,
			Telemetry: Telemetry{StatsTags: []StatsTag{{Name: "", Value: "v"}}}}, "empty name"},
		{"tag with value and regex", Config{NodeID: "n", XDSHost: "h", XDSPort: 1,
			Telemetry: Telemetry{StatsTags: []StatsTag{{Name: "t", Value: "v", Regex: "^(a)$"}}}}, "exclusive"},
		{"dogstatsd without port", Config{NodeID: "n", XDSHost: "h", XDSPort: 1,
			Telemetry: Telemetry{DogStatsD: &DogStatsD{Host: "h"}}}, "dogstatsd needs"},
		{"tracer without port", Config{NodeID: "n", XDSHost: "h", XDSPort: 1,
			Telemetry: Telemetry{Tracer: &Tracer{Kind: TracerZipkin, Host: "h"}}}, "needs a host and port"},
		{"unknown tracer", Config{NodeID: "n", XDSHost: "h", XDSPort: 1,
			Telemetry: Telemetry{Tracer: &Tracer{Kind: "lightstep", Host: "h", Port: 1}}}, "unknown tracer"},
		{"xray name not an ip", Config{NodeID: "n", XDSHost: "h", XDSPort: 1,
			Telemetry: Telemetry{Tracer: &Tracer{Kind: TracerXRay, Host: "xray", Port: 2000}}}, "x-ray daemon"},
		{"negative flush", Config{NodeID: "n", XDSHost: "h", XDSPort: 1,
			Telemetry: Telemetry{FlushInterval: -time.Second}}, "negative"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Render(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Render error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

// TestEnvoyAcceptsBootstrap runs `envoy --mode validate` on every golden
// bootstrap.
func TestEnvoyAcceptsBootstrap(t *testing.T) {
	envoytest.Binary(t)
	for name, cfg := range goldenConfigs {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b, err := Render(cfg)
			if err != nil {
				t.Fatal(err)
			}
			envoytest.Validate(t, b)
		})
	}
}
