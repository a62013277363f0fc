package telemetry

import (
	"fmt"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	metricsv3 "github.com/envoyproxy/go-control-plane/envoy/service/metrics/v3"
	promv1 "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"
)

// sidecarFlush is one flush of a sidecar with `backends` egress clusters
// in the shape bench/telemetrycost sends (a few families per cluster
// stand in for its ~50, enough that most families are skipped): the
// wanted families of every kind plus unwanted ones of every kind.
func sidecarFlush(backends int) []*promv1.MetricFamily {
	lat := map[float64]uint64{0.7: 30, 3: 50, 70: 5}
	fams := []*promv1.MetricFamily{gauge(uptimeStat, 3600)}
	clusters := []string{"cds_ingress_m_a_http_8080", "xds_cluster"}
	for b := range backends {
		clusters = append(clusters, fmt.Sprintf("cds_egress_m_backend-%d_http_8080", b))
	}
	for _, c := range clusters {
		p := "cluster." + c + "."
		for _, n := range []string{"upstream_rq_completed", "upstream_rq_5xx", "upstream_rq_2xx", "upstream_cx_total", "upstream_cx_rx_bytes_total",
			"upstream_rq_retry", "update_attempt", "membership_change", "bind_errors", "default.total_match_count"} {
			fams = append(fams, counter(p+n, 100))
		}
		for _, n := range []string{"upstream_cx_active", "upstream_rq_active", "membership_healthy", "circuit_breakers.default.cx_open", "version"} {
			fams = append(fams, gauge(p+n, 2))
		}
		fams = append(fams, histogram(p+"upstream_rq_time", lat), histogram(p+"upstream_cx_length_ms", lat))
	}
	for b := range backends {
		vs := fmt.Sprintf("backend-%d.m.local", b)
		p := "vhost." + vs + ".vcluster." + vs + "."
		fams = append(fams, counter(p+"upstream_rq_completed", 80), counter(p+"upstream_rq_5xx", 1), counter(p+"upstream_rq_2xx", 79),
			histogram(p+"upstream_rq_time", lat))
	}
	for _, hcm := range []string{"http.ingress.", "http.egress."} {
		for _, n := range []string{"downstream_rq_completed", "downstream_rq_5xx", "downstream_rq_2xx", "downstream_cx_total", "rq_total", "no_route"} {
			fams = append(fams, counter(hcm+n, 100))
		}
		fams = append(fams, gauge(hcm+"downstream_cx_active", 3), histogram(hcm+"downstream_rq_time", lat), histogram(hcm+"downstream_cx_length_ms", lat))
	}
	for k := range 100 {
		fams = append(fams, counter(fmt.Sprintf("server.stat_%d", k), 1))
	}
	return fams
}

// envoyFlush is one flush of a sidecar with `backends` egress clusters as
// bench/telemetrycost -shape envoy sends it (the family counts a real
// Envoy 1.40 sends: 30 stats per cluster, 14 per HTTP manager, 11 per
// virtual service, 44 others; every metric stamped): 542 families at ten
// backends, 75 of them read.
func envoyFlush(backends int) []*promv1.MetricFamily {
	lat := map[float64]uint64{0.7: 30, 3: 50, 70: 5}
	var fams []*promv1.MetricFamily
	clusters := []string{"cds_ingress_m_a_http_8080", "xds_cluster"}
	for b := range backends {
		clusters = append(clusters, fmt.Sprintf("cds_egress_m_backend-%d_http_8080", b))
	}
	for _, c := range clusters {
		p := "cluster." + c + "."
		for _, n := range []string{"upstream_rq_completed", "upstream_rq_5xx", "upstream_rq_2xx", "upstream_rq_200", "upstream_rq_total",
			"upstream_cx_total", "upstream_cx_http1_total", "upstream_cx_destroy", "upstream_cx_destroy_remote", "upstream_cx_rx_bytes_total",
			"upstream_cx_tx_bytes_total", "upstream_rq_retry", "upstream_rq_timeout", "upstream_rq_pending_total", "update_attempt",
			"update_success", "update_no_rebuild", "membership_change", "lb_healthy_panic", "retry_or_shadow_abandoned"} {
			fams = append(fams, counter(p+n, 1e6))
		}
		for _, n := range []string{"upstream_cx_active", "upstream_rq_active", "upstream_rq_pending_active", "membership_healthy",
			"membership_total", "membership_degraded", "membership_excluded"} {
			fams = append(fams, gauge(p+n, 2))
		}
		for _, n := range []string{"upstream_rq_time", "upstream_cx_connect_ms", "upstream_cx_length_ms"} {
			fams = append(fams, histogram(p+n, lat))
		}
	}
	for b := range backends {
		vs := fmt.Sprintf("backend-%d.m.local", b)
		p := "vhost." + vs + ".vcluster." + vs + "."
		for _, n := range []string{"upstream_rq_completed", "upstream_rq_5xx", "upstream_rq_2xx", "upstream_rq_200", "upstream_rq_total",
			"upstream_rq_timeout", "upstream_rq_retry", "upstream_rq_retry_limit_exceeded", "upstream_rq_retry_overflow",
			"upstream_rq_retry_success"} {
			fams = append(fams, counter(p+n, 1e6))
		}
		fams = append(fams, histogram(p+"upstream_rq_time", lat))
	}
	for _, hcm := range []string{"http.ingress.", "http.egress."} {
		for _, n := range []string{"downstream_rq_completed", "downstream_rq_5xx", "downstream_rq_2xx", "downstream_rq_4xx", "downstream_rq_total",
			"downstream_rq_http1_total", "downstream_cx_total", "downstream_cx_http1_total", "downstream_cx_destroy", "downstream_cx_destroy_remote"} {
			fams = append(fams, counter(hcm+n, 1e6))
		}
		fams = append(fams, gauge(hcm+"downstream_cx_active", 3), gauge(hcm+"downstream_rq_active", 1),
			histogram(hcm+"downstream_rq_time", lat), histogram(hcm+"downstream_cx_length_ms", lat))
	}
	for _, l := range []string{"listener.0.0.0.0_15000.", "listener.0.0.0.0_15001.", "listener.admin."} {
		for k := range 5 {
			fams = append(fams, counter(fmt.Sprintf("%sdownstream_stat_%d", l, k), 1e6))
		}
	}
	for k := range 28 {
		fams = append(fams, counter(fmt.Sprintf("server.stat_%d", k), 1e6))
	}
	fams = append(fams, gauge(uptimeStat, 3600))
	for _, f := range fams {
		f.Metric[0].TimestampMs = proto.Int64(1796000000000)
		if h := f.Metric[0].Histogram; h != nil {
			h.SampleSum = proto.Float64(1234.5)
		}
	}
	return fams
}

// BenchmarkDecodeFrame is the codec's work for one flush of a sidecar
// with ten backends (one message): it prints the bytes and families.
func BenchmarkDecodeFrame(b *testing.B) {
	fams := sidecarFlush(10)
	msg := &metricsv3.StreamMetricsMessage{EnvoyMetrics: fams,
		Identifier: &metricsv3.StreamMetricsMessage_Identifier{Node: &corev3.Node{Id: "mesh/m/virtualNode/a"}}}
	data, err := proto.Marshal(msg)
	if err != nil {
		b.Fatal(err)
	}
	var f frame
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for range b.N {
		f = frame{samples: f.samples[:0]}
		if err := decodeFrame(data, &f); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(fams)), "families/op")
	b.ReportMetric(float64(len(f.samples)), "kept/op")
}

// BenchmarkDigestApply is the receiver's work after decoding, for one
// flush of a sidecar with ten backends, on a stream past its first message.
func BenchmarkDigestApply(b *testing.B) {
	c := newClock()
	tel := newTest(c, Options{})
	ps := newStream("m", "virtualNode", "a")
	data, err := proto.Marshal(&metricsv3.StreamMetricsMessage{EnvoyMetrics: sidecarFlush(10)})
	if err != nil {
		b.Fatal(err)
	}
	var f frame
	if err := decodeFrame(data, &f); err != nil {
		b.Fatal(err)
	}
	tel.apply(ps, tel.digest(ps, f.samples))
	f = frame{memo: ps.expected()}
	if err := decodeFrame(data, &f); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		c.advance(time.Millisecond)
		tel.apply(ps, tel.digest(ps, f.samples))
	}
	b.ReportMetric(float64(len(f.samples)), "samples/op")
}

// BenchmarkReceiveStreams is the receiver's work per message at the
// bench's scale: 1,000 streams, each with its own state, take turns (one
// flush of a sidecar with ten backends each, in the shape a real Envoy
// sends: envoyFlush), so each message finds its stream's state out of the
// CPU caches as the server does, which the one-stream benchmarks above do
// not show; the message comes in 16 KiB buffers, as gRPC hands it over
// (decodePieces). It prints the families per message and the bytes.
func BenchmarkReceiveStreams(b *testing.B) {
	const streams = 1000
	c := newClock()
	tel := newTest(c, Options{})
	data, err := proto.Marshal(&metricsv3.StreamMetricsMessage{EnvoyMetrics: envoyFlush(10)})
	if err != nil {
		b.Fatal(err)
	}
	// Each stream keeps its state; the samples are decoded into memory
	// the previous message used, as the server's pool gives them.
	ss := make([]*proxyStream, streams)
	for i := range ss {
		ss[i] = newProxyStream("m", "virtualNode", fmt.Sprintf("n%d", i), "")
	}
	// The message as gRPC hands it over: one buffer per 16 KiB DATA frame.
	bufs := split(data, every(data, 16384)...)
	var samples []sample
	var scratch []byte
	step := func(ps *proxyStream) {
		f := frame{samples: samples[:0], memo: ps.expected()}
		var err error
		if scratch, err = decodePieces(bufs, len(data), &f, scratch); err != nil {
			b.Fatal(err)
		}
		tel.apply(ps, tel.digest(ps, f.samples))
		samples = f.samples
	}
	for _, ps := range ss {
		step(ps)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := range b.N {
		c.advance(5 * time.Millisecond)
		step(ss[i%streams])
	}
	b.ReportMetric(float64(len(envoyFlush(10))), "families/op")
	b.ReportMetric(float64(len(samples)), "kept/op")
}
