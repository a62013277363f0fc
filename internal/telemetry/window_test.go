package telemetry

import (
	"math"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	promv1 "github.com/prometheus/client_model/go"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		name, stat string
		dest       string
		m          metric
		tg         target
	}{
		{"inbound requests", "http.ingress.downstream_rq_completed", "", mRequests, tInbound},
		{"inbound multi listener", "http.ingress.http.8080.downstream_rq_5xx", "", mErrors, tInbound},
		{"inbound latency", "http.ingress.downstream_rq_time", "", mLatency, tInbound},
		{"inbound active", "http.ingress.downstream_cx_active", "", mActive, tInbound},
		{"egress hcm is not inbound", "http.egress.downstream_rq_completed", "", mNone, tInbound},
		{"ingress-like prefix", "http.ingressx.downstream_rq_completed", "", mNone, tInbound},
		{"user agent sub-stat", "http.ingress.user_agent.ios.downstream_rq_completed", "", mNone, tInbound},
		{"edge requests", "cluster.cds_egress_m_colorteller-red_http_9080.upstream_rq_completed", "colorteller-red", mRequests, tEdge},
		{"edge with underscores", "cluster.cds_egress_m_a_b_c_http2_80.upstream_rq_5xx", "a_b_c", mErrors, tEdge},
		{"edge latency", "cluster.cds_egress_m_red_grpc_80.upstream_rq_time", "red", mLatency, tEdge},
		{"edge active", "cluster.cds_egress_m_red_tcp_80.upstream_cx_active", "red", mActive, tEdge},
		{"allow all", "cluster.cds_egress_m_mesh-allow-all.upstream_rq_completed", allowAllName, mRequests, tEdge},
		{"other mesh", "cluster.cds_egress_other_red_http_80.upstream_rq_completed", "", mNone, tInbound},
		{"ingress cluster", "cluster.cds_ingress_m_red_http_80.upstream_rq_completed", "", mNone, tInbound},
		{"zone sub-stat", "cluster.cds_egress_m_red_http_80.zone.a.b.upstream_rq_completed", "", mNone, tInbound},
		{"other stat", "cluster.cds_egress_m_red_http_80.upstream_rq_retry", "", mNone, tInbound},
		{"no dot", "uptime", "", mNone, tInbound},
		{"service requests", "vhost.color.local.vcluster.color.local.upstream_rq_completed", "color.local", mRequests, tService},
		{"service errors", "vhost.a.vcluster.a.upstream_rq_5xx", "a", mErrors, tService},
		{"service latency", "vhost.svc.m.local.vcluster.svc.m.local.upstream_rq_time", "svc.m.local", mLatency, tService},
		{"service halves differ", "vhost.a.b.vcluster.c.d.upstream_rq_completed", "", mNone, tInbound},
		{"service default vcluster", "vhost.a.vcluster.other.upstream_rq_completed", "", mNone, tInbound},
		{"service other stat", "vhost.a.vcluster.a.upstream_rq_retry", "", mNone, tInbound},
		{"service gauge name", "vhost.a.vcluster.a.upstream_cx_active", "", mNone, tInbound},
		{"vhost only", "vhost..upstream_rq_completed", "", mNone, tInbound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tg, dest, m := classify(tt.stat, "m")
			if tt.m != mNone && !wanted([]byte(tt.stat)) {
				t.Errorf("wanted(%q) = false for a stat classify reads", tt.stat)
			}
			if dest != tt.dest || m != tt.m || tg != tt.tg {
				t.Errorf("classify(%q) = %v, %q, %v; want %v, %q, %v", tt.stat, tg, dest, m, tt.tg, tt.dest, tt.m)
			}
		})
	}
}

func TestQuantile(t *testing.T) {
	bounds := []float64{10, 20, 40}
	tests := []struct {
		name   string
		counts []float64
		q      float64
		want   float64
	}{
		{"middle of first bucket", []float64{10, 0, 0, 0}, 0.5, 5},
		{"second bucket", []float64{0, 10, 0, 0}, 0.5, 15},
		{"p99 across buckets", []float64{90, 0, 10, 0}, 0.99, 38},
		{"overflow returns top bound", []float64{0, 0, 0, 10}, 0.5, 40},
		{"empty is NaN", []float64{0, 0, 0, 0}, 0.5, math.NaN()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := hist{bounds: bounds, counts: tt.counts}
			got := h.quantile(tt.q)
			if math.IsNaN(tt.want) != math.IsNaN(got) || !math.IsNaN(got) && math.Abs(got-tt.want) > 1e-9 {
				t.Errorf("quantile(%v) = %v, want %v", tt.q, got, tt.want)
			}
		})
	}
}

func TestHistMergesOtherBounds(t *testing.T) {
	var h hist
	h.add([]float64{10, 20}, []float64{1, 1, 1})
	h.add([]float64{10}, []float64{2, 3})
	want := []float64{3, 1, 4}
	for i := range want {
		if h.counts[i] != want[i] {
			t.Fatalf("counts = %v, want %v", h.counts, want)
		}
	}
}

// TestCumulativeToWindow feeds a young Envoy's cumulative counters and
// checks deltas, a counter reset, and the window rate and success rate.
func TestCumulativeToWindow(t *testing.T) {
	c := newClock()
	tel := newTest(c, Options{})
	ps := newStream("m", "virtualNode", "red")
	const rq, e5 = "http.ingress.downstream_rq_completed", "http.ingress.downstream_rq_5xx"
	feed(tel, ps, gauge(uptimeStat, 5), counter(rq, 100), counter(e5, 5), gauge("http.ingress.downstream_cx_active", 3))
	c.advance(5 * time.Second)
	feed(tel, ps, counter(rq, 300), counter(e5, 15))
	c.advance(5 * time.Second)
	feed(tel, ps, counter(rq, 50), counter(e5, 0)) // reset: 50 new requests
	snap := tel.Snapshot("m")
	if len(snap) != 1 {
		t.Fatalf("snapshot = %+v, want one window", snap)
	}
	s := snap[0].Signals
	if s.Requests != 350 || s.Errors != 15 {
		t.Errorf("requests, errors = %v, %v; want 350, 15", s.Requests, s.Errors)
	}
	if want := 350.0 / 60; math.Abs(s.RequestRate-want) > 1e-9 {
		t.Errorf("rate = %v, want %v", s.RequestRate, want)
	}
	if s.SuccessRate == nil || math.Abs(*s.SuccessRate-(1-15.0/350)) > 1e-9 {
		t.Errorf("success = %v", s.SuccessRate)
	}
	if s.ActiveConnections != 3 || snap[0].Proxies != 1 {
		t.Errorf("active, proxies = %v, %v; want 3, 1", s.ActiveConnections, snap[0].Proxies)
	}
	if got := testutil.ToFloat64(tel.metrics.resets); got != 2 {
		t.Errorf("resets = %v, want 2", got)
	}
	// A whole span later the window is empty and the sweep drops it once
	// no stream reports into it.
	c.advance(tel.Span() + 6*time.Second)
	if s := tel.Snapshot("m")[0].Signals; s.Requests != 0 || s.SuccessRate != nil || s.TotalRequests != 350 {
		t.Errorf("after the span: %+v", s)
	}
	tel.close(ps)
	tel.mu.Lock()
	tel.sweep(c.now())
	n := len(tel.entries)
	tel.mu.Unlock()
	if n != 0 {
		t.Errorf("windows after sweep = %d, want 0", n)
	}
}

// TestReconnectIsBaseline: an old Envoy's first message is a baseline.
func TestReconnectIsBaseline(t *testing.T) {
	c := newClock()
	tel := newTest(c, Options{})
	ps := newStream("m", "virtualNode", "red")
	const rq = "cluster.cds_egress_m_blue_http_80.upstream_rq_completed"
	feed(tel, ps, gauge(uptimeStat, 86400), counter(rq, 1e6))
	c.advance(5 * time.Second)
	feed(tel, ps, counter(rq, 1e6+60), counter("cluster.cds_egress_m_green_http_80.upstream_rq_completed", 7))
	snap := tel.Snapshot("")
	got := map[string]float64{}
	for _, e := range snap {
		got[e.Dest] = e.Requests
	}
	if got["blue"] != 60 || got["green"] != 7 {
		t.Errorf("edge requests = %v, want blue 60 (baseline), green 7 (new stat)", got)
	}
}

func TestLatencyQuantilesFromDeltas(t *testing.T) {
	c := newClock()
	tel := newTest(c, Options{})
	ps := newStream("m", "virtualGateway", "gw")
	const name = "http.ingress.downstream_rq_time"
	feed(tel, ps, gauge(uptimeStat, 86400), histogram(name, map[float64]uint64{2000: 1000})) // baseline
	c.advance(5 * time.Second)
	// 99 requests at 3 ms and 1 at 700 ms since the baseline.
	feed(tel, ps, histogram(name, map[float64]uint64{2000: 1000, 3: 99, 700: 1}))
	s := tel.Snapshot("m")[0].Signals
	if s.LatencyP50Ms == nil || *s.LatencyP50Ms <= 1 || *s.LatencyP50Ms > 5 {
		t.Errorf("p50 = %v, want within (1, 5] ms", s.LatencyP50Ms)
	}
	if s.LatencyP99Ms == nil || *s.LatencyP99Ms > 5 {
		t.Errorf("p99 = %v, want within the 5 ms bucket (rank 99 of 100)", s.LatencyP99Ms)
	}
}

// TestBounds checks every bound at its limit, and its metric.
func TestBounds(t *testing.T) {
	t.Run("series per stream", func(t *testing.T) {
		tel := newTest(newClock(), Options{MaxSeries: 2})
		ps := newStream("m", "virtualNode", "a")
		feed(tel, ps, counter("http.ingress.downstream_rq_completed", 1), counter("http.ingress.downstream_rq_5xx", 1),
			counter("cluster.cds_egress_m_b_http_1.upstream_rq_completed", 1))
		if n := len(ps.counters); n != 2 {
			t.Errorf("series kept = %d, want 2", n)
		}
		if got := testutil.ToFloat64(tel.metrics.seriesDropped); got != 1 {
			t.Errorf("series dropped = %v, want 1", got)
		}
	})
	t.Run("window cache per stream", func(t *testing.T) {
		tel := newTest(newClock(), Options{MaxSeries: 2})
		ps := newStream("m", "virtualNode", "a")
		active := func(dest string, v float64) *promv1.MetricFamily {
			return gauge("cluster.cds_egress_m_"+dest+"_http_1.upstream_cx_active", v)
		}
		feed(tel, ps, active("b", 1), active("c", 1)) // at the bound: kept
		feed(tel, ps, active("b", 2), active("c", 2), active("d", 2))
		if got := testutil.ToFloat64(tel.metrics.accResets); got != 0 {
			t.Errorf("cache resets at the bound = %v, want 0", got)
		}
		feed(tel, ps, active("b", 3), active("c", 3), active("d", 3)) // beyond: emptied first
		if got := testutil.ToFloat64(tel.metrics.accResets); got != 1 {
			t.Errorf("cache resets beyond the bound = %v, want 1", got)
		}
		if n := len(ps.accs); n != 3 {
			t.Errorf("cached windows = %d, want 3 (one message's)", n)
		}
		for _, e := range tel.Snapshot("m") {
			if e.ActiveConnections != 3 || e.Proxies != 1 {
				t.Errorf("%s: active %v proxies %d, want 3 and 1", e.Dest, e.ActiveConnections, e.Proxies)
			}
		}
	})
	t.Run("windows", func(t *testing.T) {
		tel := newTest(newClock(), Options{MaxWindows: 1})
		ps := newStream("m", "virtualNode", "a")
		feed(tel, ps, counter("http.ingress.downstream_rq_completed", 1), counter("cluster.cds_egress_m_b_http_1.upstream_rq_completed", 1))
		if n := len(tel.Snapshot("")); n != 1 {
			t.Errorf("windows = %d, want 1", n)
		}
		if got := testutil.ToFloat64(tel.metrics.windowsDropped); got != 1 {
			t.Errorf("windows dropped = %v, want 1", got)
		}
	})
}

func TestCollectorRegisters(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	c := newClock()
	tel := newTest(c, Options{Registerer: reg})
	ps := newStream("m", "virtualNode", "a")
	feed(tel, ps, gauge(uptimeStat, 1), counter("http.ingress.downstream_rq_completed", 10),
		histogram("http.ingress.downstream_rq_time", map[float64]uint64{3: 10}),
		counter("cluster.cds_egress_m_b_http_1.upstream_rq_completed", 4))
	if n, err := testutil.GatherAndCount(reg, "trellis_node_request_rate", "trellis_edge_requests_total", "trellis_node_latency_seconds"); err != nil || n != 4 {
		t.Errorf("gathered %d series (%v), want 4", n, err)
	}
}
