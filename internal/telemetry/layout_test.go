package telemetry

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	metricsv3 "github.com/envoyproxy/go-control-plane/envoy/service/metrics/v3"
	"github.com/prometheus/client_golang/prometheus/testutil"
	promv1 "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"
)

// feedNoMemo is feed without the stream's layout: every name is decoded
// as new, so digest classifies it and finds its window and series in the
// maps.
func feedNoMemo(t *Telemetry, ps *proxyStream, fams ...*promv1.MetricFamily) {
	b, err := proto.Marshal(&metricsv3.StreamMetricsMessage{EnvoyMetrics: fams})
	if err != nil {
		panic(err)
	}
	var f frame
	if err := decodeFrame(b, &f); err != nil {
		panic(err)
	}
	t.apply(ps, t.digest(ps, f.samples))
}

// TestLayoutSameFigures feeds the same messages with and without the
// stream's layout: the figures must not differ, whatever changes between
// messages (order, families added and dropped, a stat renamed or changing
// kind, a name twice in one message, a counter reset).
func TestLayoutSameFigures(t *testing.T) {
	lat := func(n uint64) map[float64]uint64 { return map[float64]uint64{0.7: n, 3: 2 * n, 70: 1} }
	in, edge := "http.ingress.downstream_rq_completed", "cluster.cds_egress_m_b_http_1.upstream_rq_completed"
	msgs := [][]*promv1.MetricFamily{
		{gauge(uptimeStat, 1), counter(in, 10), counter(edge, 5), histogram("vhost.s.vcluster.s.upstream_rq_time", lat(1))},
		{gauge(uptimeStat, 6), counter(in, 20), counter(edge, 9), histogram("vhost.s.vcluster.s.upstream_rq_time", lat(2))},
		{gauge(uptimeStat, 11), counter(edge, 12), counter(in, 25), histogram("vhost.s.vcluster.s.upstream_rq_time", lat(3))},
		{gauge(uptimeStat, 16), counter(edge, 15), counter("http.ingress.downstream_rq_5xx", 2), counter(in, 30),
			histogram("vhost.s.vcluster.s.upstream_rq_time", lat(4))},
		{gauge(uptimeStat, 21), counter(edge, 3), gauge("http.ingress.downstream_rq_5xx", 2), counter(in, 31), counter(in, 33),
			gauge("cluster.cds_egress_m_b_http_1.upstream_cx_active", 4)},
		{gauge(uptimeStat, 26), counter(edge, 8), counter("http.ingress.downstream_rq_5xx", 3), counter(in, 40),
			histogram("vhost.s.vcluster.s.upstream_rq_time", lat(6)), gauge("cluster.cds_egress_m_b_http_1.upstream_cx_active", 5)},
		{gauge(uptimeStat, 31), counter(edge, 8), counter("http.ingress.downstream_rq_5xx", 3), counter(in, 40),
			histogram("vhost.s.vcluster.s.upstream_rq_time", lat(6)), gauge("cluster.cds_egress_m_b_http_1.upstream_cx_active", 5)},
	}
	for _, maxSeries := range []int{0, 3} {
		cm, cn := newClock(), newClock()
		memo, plain := newTest(cm, Options{MaxSeries: maxSeries}), newTest(cn, Options{MaxSeries: maxSeries})
		pm, pn := newStream("m", "virtualNode", "a"), newStream("m", "virtualNode", "a")
		for i, m := range msgs {
			feed(memo, pm, m...)
			feedNoMemo(plain, pn, m...)
			if got, want := memo.Snapshot(""), plain.Snapshot(""); !reflect.DeepEqual(got, want) {
				t.Fatalf("MaxSeries %d, message %d: with the layout %+v, without %+v", maxSeries, i, got, want)
			}
			cm.advance(5 * time.Second)
			cn.advance(5 * time.Second)
		}
		if len(memo.Snapshot("")) == 0 {
			t.Fatal("no windows")
		}
	}
}

// TestLayoutBound checks the layout at its bound (MaxSeries slots) and
// its metric: one layout per stream while the families stay the same,
// one more for each message whose families change.
func TestLayoutBound(t *testing.T) {
	tel := newTest(newClock(), Options{MaxSeries: 3})
	ps := newStream("m", "virtualNode", "a")
	fams := []*promv1.MetricFamily{gauge(uptimeStat, 1), counter("http.ingress.downstream_rq_completed", 1),
		counter("http.ingress.downstream_rq_5xx", 1), counter("cluster.cds_egress_m_b_http_1.upstream_rq_completed", 1),
		counter("cluster.cds_egress_m_c_http_1.upstream_rq_completed", 1)}
	layouts := func() float64 { return testutil.ToFloat64(tel.metrics.layouts) }
	feed(tel, ps, fams...)
	feed(tel, ps, fams...)
	if n := len(lastLayout(ps).slots); n != 3 {
		t.Errorf("layout slots = %d, want 3 (MaxSeries)", n)
	}
	if got := layouts(); got != 1 {
		t.Errorf("layouts after two equal messages = %v, want 1", got)
	}
	fams[1] = counter("http.ingress.downstream_rq_2xx", 1) // a renamed stat inside the layout
	feed(tel, ps, fams...)
	feed(tel, ps, fams[:2]...) // fewer families
	if got := layouts(); got != 3 {
		t.Errorf("layouts after two changes = %v, want 3", got)
	}
	if n := len(lastLayout(ps).slots); n != 1 {
		t.Errorf("layout slots = %d, want 1 (the read families of the last message)", n)
	}
}

// lastLayout is the layout the stream used last.
func lastLayout(ps *proxyStream) *layout {
	var last *layout
	for _, l := range ps.layouts {
		if last == nil || l.used > last.used {
			last = l
		}
	}
	return last
}

// TestLayoutPerMessage checks a flush of several messages (Envoy's
// batch_size): each message keeps its layout, so alternating messages
// build no more layouts; more shapes than maxLayouts keep at most that
// many, and a layout that stops coming is dropped.
func TestLayoutPerMessage(t *testing.T) {
	tel := newTest(newClock(), Options{})
	ps := newStream("m", "virtualNode", "a")
	layouts := func() float64 { return testutil.ToFloat64(tel.metrics.layouts) }
	msg := func(k int) []*promv1.MetricFamily {
		return []*promv1.MetricFamily{counter(fmt.Sprintf("cluster.cds_egress_m_b%d_http_1.upstream_rq_completed", k), 1),
			counter(fmt.Sprintf("cluster.cds_egress_m_b%d_http_1.upstream_rq_5xx", k), 1)}
	}
	for range 3 {
		feed(tel, ps, msg(0)...)
		feed(tel, ps, msg(1)...)
	}
	if got := layouts(); got != 2 {
		t.Errorf("layouts after three flushes of two messages = %v, want 2", got)
	}
	for range 2 {
		for k := range maxLayouts + 2 {
			feed(tel, ps, msg(k)...)
		}
	}
	if n := len(ps.layouts); n > maxLayouts {
		t.Errorf("layouts kept = %d, want at most %d", n, maxLayouts)
	}
	before := layouts()
	for range 2 * maxLayouts {
		feed(tel, ps, msg(9)...)
	}
	if got := layouts() - before; got != 1 {
		t.Errorf("layouts built for one message shape = %v, want 1", got)
	}
	feed(tel, ps, msg(8)...)
	feed(tel, ps, msg(9)...) // looked for: the unused layouts are dropped
	if n := len(ps.layouts); n != 2 {
		t.Errorf("layouts kept = %d, want 2 (the others unused for %d messages)", n, maxLayouts)
	}
}
