package sidecar

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trellis-mesh/trellis/internal/xdsgen/bootstrap"
)

func TestLoadTelemetry(t *testing.T) {
	dir := t.TempDir()
	manifest := filepath.Join(dir, "rules.json")
	if err := os.WriteFile(manifest, []byte(`{"version":2,"default":{"fixed_target":1,"rate":0.1},"rules":[]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	v1 := filepath.Join(dir, "v1.json")
	if err := os.WriteFile(v1, []byte(`{"version":1,"default":{"fixed_target":1,"rate":0.1}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	gw := "mesh/color/virtualGateway/gw"
	tests := []struct {
		name    string
		env     map[string]string
		want    TelemetryOptions
		wantErr string
	}{
		{name: "none", env: map[string]string{}, want: TelemetryOptions{}},
		{name: "stats tags node", env: map[string]string{"ENABLE_ENVOY_STATS_TAGS": "1", "ENVOY_STATS_FLUSH_INTERVAL": "5000ms"},
			want: TelemetryOptions{Telemetry: bootstrap.Telemetry{FlushInterval: 5 * time.Second,
				StatsTags: []bootstrap.StatsTag{{Name: "appmesh.mesh", Value: "color"}, {Name: "appmesh.virtual_node", Value: "front"}}}}},
		{name: "stats tags gateway", env: map[string]string{"APPMESH_RESOURCE_ARN": gw, "ENABLE_ENVOY_STATS_TAGS": "true"},
			want: TelemetryOptions{Telemetry: bootstrap.Telemetry{
				StatsTags: []bootstrap.StatsTag{{Name: "appmesh.mesh", Value: "color"}, {Name: "appmesh.virtual_gateway", Value: "gw"}}}}},
		{name: "stats config file wins over tags", env: map[string]string{"ENABLE_ENVOY_STATS_TAGS": "1", "ENVOY_STATS_CONFIG_FILE": "/s.yaml"},
			want: TelemetryOptions{Files: []TelemetryFile{{"ENVOY_STATS_CONFIG_FILE", "/s.yaml"}}}},
		{name: "dogstatsd defaults", env: map[string]string{"ENABLE_ENVOY_DOG_STATSD": "1"},
			want: TelemetryOptions{Telemetry: bootstrap.Telemetry{DogStatsD: &bootstrap.DogStatsD{Host: "127.0.0.1", Port: 8125}}}},
		{name: "dogstatsd socket", env: map[string]string{"ENABLE_ENVOY_DOG_STATSD": "1", "STATSD_SOCKET_PATH": "/d.sock", "STATSD_PORT": "1"},
			want: TelemetryOptions{Telemetry: bootstrap.Telemetry{DogStatsD: &bootstrap.DogStatsD{SocketPath: "/d.sock"}}}},
		{name: "sinks file wins over dogstatsd", env: map[string]string{"ENABLE_ENVOY_DOG_STATSD": "1", "ENVOY_STATS_SINKS_CFG_FILE": "/k.yaml"},
			want: TelemetryOptions{Files: []TelemetryFile{{"ENVOY_STATS_SINKS_CFG_FILE", "/k.yaml"}}}},
		{name: "xray defaults", env: map[string]string{"ENABLE_ENVOY_XRAY_TRACING": "1", "XRAY_SAMPLING_RATE": "0.05"},
			want: TelemetryOptions{Telemetry: bootstrap.Telemetry{Tracer: &bootstrap.Tracer{Kind: bootstrap.TracerXRay,
				Host: "127.0.0.1", Port: 2000, ServiceName: "color/front", XRay: bootstrap.XRaySettings{Mesh: "color", Node: "front"}}}}},
		{name: "xray address with port, rate, segment", env: map[string]string{"ENABLE_ENVOY_XRAY_TRACING": "1",
			"AWS_XRAY_DAEMON_ADDRESS": "10.0.0.9:3000", "XRAY_DAEMON_PORT": "2001", "XRAY_SAMPLING_RATE": "0.256", "XRAY_SEGMENT_NAME": "seg"},
			want: TelemetryOptions{Telemetry: bootstrap.Telemetry{Tracer: &bootstrap.Tracer{Kind: bootstrap.TracerXRay,
				Host: "10.0.0.9", Port: 3000, ServiceName: "seg", XRay: bootstrap.XRaySettings{Mesh: "color", Node: "front",
					SamplingRules: `{"version":2,"default":{"fixed_target":1,"rate":0.26},"rules":[]}`}}}}},
		{name: "xray manifest", env: map[string]string{"ENABLE_ENVOY_XRAY_TRACING": "1", "XRAY_SAMPLING_RULE_MANIFEST": manifest, "XRAY_DAEMON_PORT": "2001"},
			want: TelemetryOptions{Telemetry: bootstrap.Telemetry{Tracer: &bootstrap.Tracer{Kind: bootstrap.TracerXRay,
				Host: "127.0.0.1", Port: 2001, ServiceName: "color/front", XRay: bootstrap.XRaySettings{Mesh: "color", Node: "front",
					SamplingRuleManifest: manifest}}}}},
		{name: "jaeger json", env: map[string]string{"ENABLE_ENVOY_JAEGER_TRACING": "1", "JAEGER_TRACER_VERSION": "json", "JAEGER_TRACER_ADDRESS": "jaeger"},
			want: TelemetryOptions{Telemetry: bootstrap.Telemetry{Tracer: &bootstrap.Tracer{Kind: bootstrap.TracerZipkin,
				Host: "jaeger", Port: 9411, ZipkinJSON: true}}}},
		{name: "datadog", env: map[string]string{"ENABLE_ENVOY_DATADOG_TRACING": "1", "DATADOG_TRACER_PORT": "18126"},
			want: TelemetryOptions{Telemetry: bootstrap.Telemetry{Tracer: &bootstrap.Tracer{Kind: bootstrap.TracerDatadog,
				Host: "127.0.0.1", Port: 18126, ServiceName: "envoy-color/front"}}}},
		{name: "datadog DD_SERVICE", env: map[string]string{"ENABLE_ENVOY_DATADOG_TRACING": "1", "DD_SERVICE": "svc"},
			want: TelemetryOptions{Telemetry: bootstrap.Telemetry{Tracer: &bootstrap.Tracer{Kind: bootstrap.TracerDatadog,
				Host: "127.0.0.1", Port: 8126, ServiceName: "svc"}}}},
		{name: "otel defaults", env: map[string]string{"ENABLE_ENVOY_OTEL_TRACING": "1"},
			want: TelemetryOptions{Telemetry: bootstrap.Telemetry{Tracer: &bootstrap.Tracer{Kind: bootstrap.TracerOpenTelemetry,
				Host: "127.0.0.1", Port: 4317, ServiceName: "color/front"}}}},
		{name: "otel traces endpoint wins", env: map[string]string{"ENABLE_ENVOY_OTEL_TRACING": "1", "OTEL_SERVICE_NAME": "s",
			"OTEL_EXPORTER_OTLP_ENDPOINT": "other:1", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4317"},
			want: TelemetryOptions{Telemetry: bootstrap.Telemetry{Tracer: &bootstrap.Tracer{Kind: bootstrap.TracerOpenTelemetry,
				Host: "collector", Port: 4317, ServiceName: "s"}}}},
		{name: "tracing file wins over tracers", env: map[string]string{"ENABLE_ENVOY_XRAY_TRACING": "1", "ENABLE_ENVOY_JAEGER_TRACING": "1",
			"ENVOY_TRACING_CFG_FILE": "/t.yaml"},
			want: TelemetryOptions{Files: []TelemetryFile{{"ENVOY_TRACING_CFG_FILE", "/t.yaml"}}}},
		{name: "two tracers", env: map[string]string{"ENABLE_ENVOY_XRAY_TRACING": "1", "ENABLE_ENVOY_JAEGER_TRACING": "1"},
			wantErr: "only one tracer"},
		{name: "bad boolean", env: map[string]string{"ENABLE_ENVOY_STATS_TAGS": "yes"}, wantErr: "ENABLE_ENVOY_STATS_TAGS"},
		{name: "bad flush", env: map[string]string{"ENVOY_STATS_FLUSH_INTERVAL": "5000"}, wantErr: "ENVOY_STATS_FLUSH_INTERVAL"},
		{name: "xray hostname", env: map[string]string{"ENABLE_ENVOY_XRAY_TRACING": "1", "AWS_XRAY_DAEMON_ADDRESS": "xray:2000"},
			wantErr: "must be an IP"},
		{name: "xray rate", env: map[string]string{"ENABLE_ENVOY_XRAY_TRACING": "1", "XRAY_SAMPLING_RATE": "2"}, wantErr: "between 0 and 1"},
		{name: "xray manifest v1", env: map[string]string{"ENABLE_ENVOY_XRAY_TRACING": "1", "XRAY_SAMPLING_RULE_MANIFEST": v1},
			wantErr: "version 2"},
		{name: "otel https", env: map[string]string{"ENABLE_ENVOY_OTEL_TRACING": "1", "OTEL_EXPORTER_OTLP_ENDPOINT": "https://c:4317"},
			wantErr: "TLS"},
		{name: "statsd hostname", env: map[string]string{"ENABLE_ENVOY_DOG_STATSD": "1", "STATSD_ADDRESS": "datadog"},
			wantErr: "must be an IP"},
		{name: "statsd address", env: map[string]string{"ENABLE_ENVOY_DOG_STATSD": "1", "STATSD_ADDRESS": "10.1.2.3", "STATSD_PORT": "9125"},
			want: TelemetryOptions{Telemetry: bootstrap.Telemetry{DogStatsD: &bootstrap.DogStatsD{Host: "10.1.2.3", Port: 9125}}}},
		{name: "statsd port", env: map[string]string{"ENABLE_ENVOY_DOG_STATSD": "1", "STATSD_PORT": "0"}, wantErr: "STATSD_PORT"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{"APPMESH_RESOURCE_ARN": arn}
			for k, v := range tc.env {
				env[k] = v
			}
			c, err := Load(src(nil, env))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Load error = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := tc.env["ENVOY_STATS_CONFIG_FILE"]; !ok {
				// App Mesh's listener tags come with every bootstrap.
				tc.want.StatsTags = append(slices.Clip(tc.want.StatsTags), bootstrap.ListenerTags...)
			}
			if !reflect.DeepEqual(c.Telemetry, tc.want) {
				t.Errorf("Telemetry =\n%+v\nwant\n%+v", c.Telemetry, tc.want)
			}
		})
	}
}
