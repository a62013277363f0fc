package bootstrap

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trellis-mesh/trellis/internal/xdsgen/internal/envoytest"
)

const (
	zipkinFragment = `tracing:
  http:
    name: envoy.tracers.zipkin
    typedConfig:
      "@type": type.googleapis.com/envoy.config.trace.v3.ZipkinConfig
      collector_cluster: my_zipkin
      collector_endpoint: /api/v2/spans
      collector_endpoint_version: HTTP_JSON
staticResources:
  clusters:
  - name: my_zipkin
    type: STRICT_DNS
    load_assignment:
      cluster_name: my_zipkin
      endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: zipkin, port_value: 9411}}}}]}]
`
	statsFragment = `stats_config:
  stats_tags:
  - tag_name: team
    fixed_value: payments
stats_flush_interval: 3s
`
	sinksFragment = `stats_sinks:
- name: envoy.stat_sinks.statsd
  typed_config:
    "@type": type.googleapis.com/envoy.config.metrics.v3.StatsdSink
    address: {socket_address: {address: 127.0.0.1, port_value: 8125, protocol: UDP}}
`
)

// graphiteTLSFragment names extension types outside config/metrics/v3:
// the Graphite statsd sink, and TLS on a collector cluster.
const graphiteTLSFragment = `stats_sinks:
- name: envoy.stat_sinks.graphite_statsd
  typed_config:
    "@type": type.googleapis.com/envoy.extensions.stat_sinks.graphite_statsd.v3.GraphiteStatsdSink
    address: {socket_address: {address: 127.0.0.1, port_value: 8125, protocol: UDP}}
static_resources:
  clusters:
  - name: otel
    type: STRICT_DNS
    typed_extension_protocol_options:
      envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
        "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
        explicit_http_config: {http2_protocol_options: {}}
    transport_socket:
      name: envoy.transport_sockets.tls
      typed_config:
        "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext
        sni: otel.example
    load_assignment:
      cluster_name: otel
      endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: otel.example, port_value: 4317}}}}]}]
`

func mergeBase(t *testing.T, tel Telemetry) Config {
	t.Helper()
	return Config{NodeID: "mesh/demo/virtualNode/front", XDSHost: "127.0.0.1", XDSPort: 15010, Telemetry: tel}
}

func TestMerge(t *testing.T) {
	dog := Telemetry{DogStatsD: &DogStatsD{Host: "127.0.0.1", Port: 8125}}
	tests := []struct {
		name         string
		tel          Telemetry
		frags        []Fragment
		wantErr      string
		wantReplaced []string
		check        func(t *testing.T, y string)
	}{
		{name: "tracing file, camelCase keys", frags: []Fragment{{Name: "t", Data: []byte(zipkinFragment)}},
			check: func(t *testing.T, y string) {
				for _, want := range []string{"collector_cluster: my_zipkin", "name: my_zipkin", "name: xds_cluster"} {
					if !strings.Contains(y, want) {
						t.Errorf("merged bootstrap lacks %q", want)
					}
				}
			}},
		{name: "stats config replaces flush interval", tel: Telemetry{FlushInterval: 10 * time.Second},
			frags:        []Fragment{{Name: "s", Data: []byte(statsFragment)}},
			wantReplaced: []string{"stats_flush_interval"},
			check: func(t *testing.T, y string) {
				if !strings.Contains(y, "stats_flush_interval: 3s") || !strings.Contains(y, "fixed_value: payments") {
					t.Errorf("stats fragment not applied:\n%s", y)
				}
			}},
		{name: "sinks appended to dogstatsd", tel: dog, frags: []Fragment{{Name: "k", Data: []byte(sinksFragment), NeedSinks: true}},
			check: func(t *testing.T, y string) {
				if strings.Count(y, "- name: envoy.stat_sinks.") != 2 {
					t.Errorf("want two sinks:\n%s", y)
				}
			}},
		{name: "graphite sink and a TLS cluster", frags: []Fragment{{Name: "g", NeedSinks: true, Data: []byte(graphiteTLSFragment)}},
			check: func(t *testing.T, y string) {
				if !strings.Contains(y, "envoy.stat_sinks.graphite_statsd") || !strings.Contains(y, "UpstreamTlsContext") {
					t.Errorf("graphite sink or the TLS cluster missing:\n%s", y)
				}
			}},
		{name: "second tracing", tel: Telemetry{Tracer: &Tracer{Kind: TracerZipkin, Host: "h", Port: 1}},
			frags: []Fragment{{Name: "t", Data: []byte(zipkinFragment)}}, wantErr: "tracing given twice"},
		{name: "second stats config", tel: Telemetry{StatsTags: []StatsTag{{Name: "a", Value: "b"}}},
			frags: []Fragment{{Name: "s", Data: []byte(statsFragment)}}, wantErr: "stats_config given twice"},
		{name: "sinks file without sinks", frags: []Fragment{{Name: "k", Data: []byte(statsFragment), NeedSinks: true}},
			wantErr: "no stats_sinks"},
		{name: "empty", frags: []Fragment{{Name: "e", Data: []byte("\n")}}, wantErr: "empty"},
		{name: "not yaml", frags: []Fragment{{Name: "y", Data: []byte("a: [")}}, wantErr: "bootstrap fragment y"},
		{name: "both key forms", frags: []Fragment{{Name: "d", Data: []byte("statsConfig: {}\nstats_config: {}\n")}},
			wantErr: "snake_case form"},
		{name: "unknown field", frags: []Fragment{{Name: "u", Data: []byte("stats_config: {nope: 1}\n")}},
			wantErr: "merged bootstrap"},
		{name: "bad static key", frags: []Fragment{{Name: "b", Data: []byte("static_resources: {routes: []}\n")}},
			wantErr: "static_resources.routes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := Build(mergeBase(t, tc.tel))
			if err != nil {
				t.Fatal(err)
			}
			m, replaced, err := Merge(b, tc.frags)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.Is(err, ErrFragment) {
					t.Fatalf("Merge error = %v, want ErrFragment containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(replaced, tc.wantReplaced) {
				t.Errorf("replaced = %v, want %v", replaced, tc.wantReplaced)
			}
			y, err := Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, string(y))
			envoytest.Validate(t, y)
		})
	}
}

// FuzzMergeFragment feeds arbitrary fragment files to Merge: it must
// return an error or a bootstrap that validates, never panic.
func FuzzMergeFragment(f *testing.F) {
	for _, s := range []string{zipkinFragment, statsFragment, sinksFragment, "{}", "static_resources: {clusters: 1}"} {
		f.Add([]byte(s))
	}
	b, err := Build(Config{NodeID: "n1", XDSHost: "127.0.0.1", XDSPort: 1})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, _, err := Merge(b, []Fragment{{Name: "fuzz", Data: data}})
		if err != nil {
			return
		}
		if err := m.ValidateAll(); err != nil {
			t.Fatalf("Merge returned an invalid bootstrap: %v", err)
		}
	})
}
