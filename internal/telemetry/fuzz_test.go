package telemetry

import (
	"math"
	"slices"
	"testing"
	"time"

	metricsv3 "github.com/envoyproxy/go-control-plane/envoy/service/metrics/v3"
	promv1 "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"
)

// FuzzDigest feeds arbitrary MetricsService messages (the gRPC payload an
// Envoy, or anything that reaches the xDS port, sends) through the
// decoder, whole and cut into buffers (decodePieces), the second against
// the first's layout: stat names, types and histogram shapes of any kind
// must never panic, the frames must hold what proto.Unmarshal reads, and
// the bounds must hold.
func FuzzDigest(f *testing.F) {
	seed := &metricsv3.StreamMetricsMessage{EnvoyMetrics: []*promv1.MetricFamily{
		gauge(uptimeStat, 1),
		counter("http.ingress.downstream_rq_completed", 10),
		counter("cluster.cds_egress_m_b_http_80.upstream_rq_5xx", 1),
		histogram("cluster.cds_egress_m_b_http_80.upstream_rq_time", map[float64]uint64{3: 4, 70: 1}),
		gauge("http.ingress.http.80.downstream_cx_active", 2),
		counter("vhost.s.m.vcluster.s.m.upstream_rq_completed", 5),
		histogram("vhost.s.m.vcluster.s.m.upstream_rq_time", map[float64]uint64{3: 5}),
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
			// The same message over buffers, as gRPC hands over one
			// larger than a DATA frame, cut where the other one says.
			if n := len(data); n > 0 {
				checkPieces(t, data, slices.Sorted(slices.Values([]int{n / 3, n * 2 / 3, (len(first) + len(second)) % n})))
			}
			f := frame{memo: ps.expected()}
			if decodeFrame(data, &f) != nil {
				return
			}
			checkSelected(t, data, &f)
			tel.apply(ps, tel.digest(ps, f.samples))
			c.advance(5 * time.Second)
		}
		if n := len(ps.counters) + len(ps.hists); n > 8 {
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

// checkSelected compares decodeFrame with proto.Unmarshal: when the full
// decoder accepts data, the frame must hold exactly the wanted families
// that have a metric, in order, with the node id and the values.
func checkSelected(t *testing.T, data []byte, got *frame) {
	t.Helper()
	var full metricsv3.StreamMetricsMessage
	if proto.Unmarshal(data, &full) != nil {
		return // the frame decoder skips what it does not read
	}
	var want []*promv1.MetricFamily
	for _, f := range full.GetEnvoyMetrics() {
		if wanted([]byte(f.GetName())) && len(f.GetMetric()) > 0 {
			want = append(want, f)
		}
	}
	if len(want) != len(got.samples) {
		t.Fatalf("kept %d families, want %d", len(got.samples), len(want))
	}
	for i, f := range want {
		s, m := got.samples[i], f.GetMetric()[0]
		if s.name != f.GetName() {
			t.Fatalf("family %d: %q, want %q", i, s.name, f.GetName())
		}
		switch s.kind {
		case kindCounter:
			if v := m.GetCounter().GetValue(); s.value != v && !(s.value != s.value && v != v) {
				t.Fatalf("%s: counter %v, want %v", s.name, s.value, v)
			}
		case kindGauge:
			if v := m.GetGauge().GetValue(); s.value != v && !(s.value != s.value && v != v) {
				t.Fatalf("%s: gauge %v, want %v", s.name, s.value, v)
			}
		case kindHistogram:
			bounds, cum := histogramOf(m.GetHistogram())
			if !slices.Equal(s.bounds, bounds) || !slices.Equal(s.cum, cum) {
				t.Fatalf("%s: histogram %v %v, want %v %v", s.name, s.bounds, s.cum, bounds, cum)
			}
		}
	}
	if got.nodeID != full.GetIdentifier().GetNode().GetId() {
		t.Fatalf("node id %q, want %q", got.nodeID, full.GetIdentifier().GetNode().GetId())
	}
}

// histogramOf is what the decoder keeps of a Histogram: the buckets with
// ascending finite upper bounds, in order, and their cumulative counts
// with the sample count last.
func histogramOf(h *promv1.Histogram) (bounds, cum []float64) {
	for _, b := range h.GetBucket() {
		ub := b.GetUpperBound()
		if !math.IsNaN(ub) && !math.IsInf(ub, 0) && (len(bounds) == 0 || ub > bounds[len(bounds)-1]) {
			bounds, cum = append(bounds, ub), append(cum, float64(b.GetCumulativeCount()))
		}
	}
	return bounds, append(cum, float64(h.GetSampleCount()))
}
