package telemetry

import (
	"testing"
	"time"

	metricsv3 "github.com/envoyproxy/go-control-plane/envoy/service/metrics/v3"
	promv1 "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"
)

// FuzzDigest feeds arbitrary MetricsService messages (the gRPC payload an
// Envoy, or anything that reaches the xDS port, sends) through the
// decoder: stat names, types and histogram shapes of any kind must never
// panic, and the bounds must hold.
func FuzzDigest(f *testing.F) {
	seed := &metricsv3.StreamMetricsMessage{EnvoyMetrics: []*promv1.MetricFamily{
		gauge(uptimeStat, 1),
		counter("http.ingress.downstream_rq_completed", 10),
		counter("cluster.cds_egress_m_b_http_80.upstream_rq_5xx", 1),
		histogram("cluster.cds_egress_m_b_http_80.upstream_rq_time", map[float64]uint64{3: 4, 70: 1}),
		gauge("http.ingress.http.80.downstream_cx_active", 2),
	}}
	b, err := proto.Marshal(seed)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b, b)
	f.Fuzz(func(t *testing.T, first, second []byte) {
		c := newClock()
		tel := newTest(c, Options{MaxSeries: 8, MaxWindows: 4})
		ps := newStream("m", "virtualNode", "a")
		for _, data := range [][]byte{first, second} {
			var msg metricsv3.StreamMetricsMessage
			if proto.Unmarshal(data, &msg) != nil {
				return
			}
			feed(tel, ps, msg.GetEnvoyMetrics()...)
			c.advance(5 * time.Second)
		}
		if n := len(ps.prev) + len(ps.prevHist); n > 8 {
			t.Fatalf("series kept %d > 8", n)
		}
		for _, e := range tel.Snapshot("") {
			if e.Requests < 0 || e.Errors < 0 {
				t.Fatalf("negative counts: %+v", e)
			}
			_ = e.LatencyP99Ms
		}
		if n := tel.count(func(t *Telemetry) int { return len(t.entries) }); n > 4 {
			t.Fatalf("windows %d > 4", n)
		}
	})
}
