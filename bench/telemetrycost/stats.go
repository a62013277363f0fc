package main

import (
	"fmt"
	"math/rand/v2"
	"time"

	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"
)

// batchSize matches the bootstrap's metrics_service batch_size.
const batchSize = 1000

// envoyBounds are Envoy's default histogram bounds (ms).
var envoyBounds = []float64{0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000}

// stats is one simulated Envoy's used stats, in the shape a sidecar with
// `backends` egress clusters reports them: per cluster ~50 counters and
// gauges and 3 histograms, the ingress and egress HTTP managers, three
// listeners, the catch-all virtual cluster of each backend's egress
// virtual host (ir.VirtualHost.StatsName: 10 counters and a histogram),
// and the server, runtime, cluster manager and xDS stats.
type stats struct {
	fams []*dto.MetricFamily
	rng  *rand.Rand
}

// Shapes of a sidecar's flush. shapeEvery is the heavy case: every stat
// of every cluster and HTTP manager used. shapeEnvoy has the family counts
// a real Envoy 1.40 with Trellis's bootstrap reported after 200 requests
// (BENCHMARKS.md): 30 used stats per cluster, 14 per HTTP manager, 44
// listener, server and other stats; the catch-all virtual cluster's 11
// stand in both shapes.
const (
	shapeEvery = "every"
	shapeEnvoy = "envoy"
)

// shapeLimits is how many of each list a shape keeps: per cluster
// counters, gauges and histograms; per HTTP manager the same; listener
// stats per listener, and server stats.
type shapeLimits struct{ cc, cg, ch, hc, hg, hh, lst, srv int }

var shapes = map[string]shapeLimits{
	shapeEvery: {30, 20, 3, 30, 7, 2, 20, 150},
	shapeEnvoy: {20, 7, 3, 10, 2, 2, 5, 28},
}

func newStats(node string, backends int, shape string) *stats {
	lim, ok := shapes[shape]
	if !ok {
		lim = shapes[shapeEvery]
	}
	s := &stats{rng: rand.New(rand.NewPCG(uint64(len(node)), 7))}
	clusters := []string{"cds_ingress_bench_" + node + "_http_8080", "xds_cluster"}
	for b := range backends {
		clusters = append(clusters, fmt.Sprintf("cds_egress_bench_backend-%d_http_8080", b))
	}
	for _, c := range clusters {
		p := "cluster." + c + "."
		for _, n := range []string{"upstream_rq_completed", "upstream_rq_5xx", "upstream_rq_2xx", "upstream_rq_200", "upstream_rq_total",
			"upstream_cx_total", "upstream_cx_http1_total", "upstream_cx_destroy", "upstream_cx_destroy_remote", "upstream_cx_rx_bytes_total",
			"upstream_cx_tx_bytes_total", "upstream_rq_retry", "upstream_rq_timeout", "upstream_rq_pending_total", "update_attempt",
			"update_success", "update_no_rebuild", "membership_change", "lb_healthy_panic", "retry_or_shadow_abandoned",
			"upstream_cx_connect_fail", "upstream_cx_close_notify", "upstream_rq_per_try_timeout", "upstream_flow_control_paused_reading_total",
			"assignment_stale", "assignment_timeout_received", "bind_errors", "default.total_match_count", "upstream_cx_none_healthy",
			"upstream_cx_pool_overflow"}[:lim.cc] {
			s.add(counterFam(p + n))
		}
		for _, n := range []string{"upstream_cx_active", "upstream_rq_active", "upstream_rq_pending_active", "membership_healthy",
			"membership_total", "membership_degraded", "membership_excluded", "max_host_weight", "version", "lb_subsets_active",
			"circuit_breakers.default.cx_open", "circuit_breakers.default.rq_open", "circuit_breakers.default.rq_pending_open",
			"circuit_breakers.default.rq_retry_open", "circuit_breakers.high.cx_open", "circuit_breakers.high.rq_open",
			"circuit_breakers.high.rq_pending_open", "circuit_breakers.high.rq_retry_open", "upstream_cx_rx_bytes_buffered",
			"upstream_cx_tx_bytes_buffered"}[:lim.cg] {
			s.add(gaugeFam(p + n))
		}
		for _, n := range []string{"upstream_rq_time", "upstream_cx_connect_ms", "upstream_cx_length_ms"}[:lim.ch] {
			s.add(histFam(p + n))
		}
	}
	for b := range backends {
		vs := fmt.Sprintf("backend-%d.bench.local", b)
		p := "vhost." + vs + ".vcluster." + vs + "."
		for _, n := range []string{"upstream_rq_completed", "upstream_rq_5xx", "upstream_rq_2xx", "upstream_rq_200", "upstream_rq_total",
			"upstream_rq_timeout", "upstream_rq_retry", "upstream_rq_retry_limit_exceeded", "upstream_rq_retry_overflow",
			"upstream_rq_retry_success"} {
			s.add(counterFam(p + n))
		}
		s.add(histFam(p + "upstream_rq_time"))
	}
	for _, hcm := range []string{"http.ingress.", "http.egress."} {
		for _, n := range []string{"downstream_rq_completed", "downstream_rq_5xx", "downstream_rq_2xx", "downstream_rq_4xx", "downstream_rq_total",
			"downstream_rq_http1_total", "downstream_cx_total", "downstream_cx_http1_total", "downstream_cx_destroy", "downstream_cx_destroy_remote",
			"downstream_cx_rx_bytes_total", "downstream_cx_tx_bytes_total", "rq_total", "no_route", "rs_too_large", "downstream_rq_timeout",
			"downstream_rq_idle_timeout", "downstream_cx_idle_timeout", "downstream_rq_rx_reset", "downstream_rq_tx_reset",
			"rds.rds_" + hcm[5:len(hcm)-1] + "_http_8080.config_reload", "rds.rds_" + hcm[5:len(hcm)-1] + "_http_8080.update_attempt",
			"rds.rds_" + hcm[5:len(hcm)-1] + "_http_8080.update_success", "downstream_flow_control_paused_reading_total",
			"downstream_rq_completed_2", "downstream_rq_ws_on_non_ws_route", "downstream_rq_response_before_rq_complete",
			"downstream_rq_overload_close", "downstream_cx_protocol_error", "downstream_cx_delayed_close_timeout"}[:lim.hc] {
			s.add(counterFam(hcm + n))
		}
		for _, n := range []string{"downstream_cx_active", "downstream_rq_active", "downstream_cx_http1_active", "downstream_cx_rx_bytes_buffered",
			"downstream_cx_tx_bytes_buffered", "downstream_cx_upgrades_active", "rds.rds_" + hcm[5:len(hcm)-1] + "_http_8080.version"}[:lim.hg] {
			s.add(gaugeFam(hcm + n))
		}
		for _, n := range []string{"downstream_rq_time", "downstream_cx_length_ms"}[:lim.hh] {
			s.add(histFam(hcm + n))
		}
	}
	for _, l := range []string{"listener.0.0.0.0_15000.", "listener.0.0.0.0_15001.", "listener.admin."} {
		for k := range lim.lst {
			s.add(counterFam(fmt.Sprintf("%sdownstream_stat_%d", l, k)))
		}
	}
	for k := range lim.srv {
		s.add(counterFam(fmt.Sprintf("server.stat_%d", k)))
	}
	s.add(gaugeFam("server.uptime"))
	return s
}

func (s *stats) add(f *dto.MetricFamily) { s.fams = append(s.fams, f) }

// advance moves every counter and histogram forward as traffic would,
// stamped with the flush time as Envoy stamps every metric.
func (s *stats) advance(d time.Duration) {
	now := time.Now().UnixMilli()
	for _, f := range s.fams {
		m := f.GetMetric()[0]
		*m.TimestampMs = now
		switch {
		case m.Counter != nil:
			*m.Counter.Value += float64(s.rng.IntN(50))
		case m.Histogram != nil:
			h := m.Histogram
			k := uint64(s.rng.IntN(50))
			*h.SampleCount += k
			*h.SampleSum += float64(k) * 3
			for i, b := range h.Bucket {
				if i >= 2 {
					*b.CumulativeCount += k
				}
			}
		case f.GetName() == "server.uptime":
			*m.Gauge.Value += d.Seconds()
		default:
			*m.Gauge.Value = float64(s.rng.IntN(10))
		}
	}
}

// batches splits the families as Envoy's batch_size does.
func (s *stats) batches() [][]*dto.MetricFamily {
	var out [][]*dto.MetricFamily
	for i := 0; i < len(s.fams); i += batchSize {
		out = append(out, s.fams[i:min(i+batchSize, len(s.fams))])
	}
	return out
}

func counterFam(name string) *dto.MetricFamily {
	return &dto.MetricFamily{Name: proto.String(name), Type: dto.MetricType_COUNTER.Enum(),
		Metric: []*dto.Metric{{Counter: &dto.Counter{Value: proto.Float64(0)}, TimestampMs: proto.Int64(0)}}}
}

func gaugeFam(name string) *dto.MetricFamily {
	return &dto.MetricFamily{Name: proto.String(name), Type: dto.MetricType_GAUGE.Enum(),
		Metric: []*dto.Metric{{Gauge: &dto.Gauge{Value: proto.Float64(0)}, TimestampMs: proto.Int64(0)}}}
}

func histFam(name string) *dto.MetricFamily {
	h := &dto.Histogram{SampleCount: proto.Uint64(0), SampleSum: proto.Float64(0)}
	for _, b := range envoyBounds {
		h.Bucket = append(h.Bucket, &dto.Bucket{UpperBound: proto.Float64(b), CumulativeCount: proto.Uint64(0)})
	}
	return &dto.MetricFamily{Name: proto.String(name), Type: dto.MetricType_HISTOGRAM.Enum(),
		Metric: []*dto.Metric{{Histogram: h, TimestampMs: proto.Int64(0)}}}
}
