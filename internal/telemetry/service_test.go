package telemetry

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestServiceWindows: two callers' catch-all virtual cluster stats for one
// virtual service add up in one service window, served as JSON (services
// view only) and as trellis_service_* series.
func TestServiceWindows(t *testing.T) {
	c := newClock()
	reg := prometheus.NewRegistry()
	tel := newTest(c, Options{Registerer: reg})
	const vc = "vhost.color.local.vcluster.color.local."
	callers := []*proxyStream{newStream("m", "virtualNode", "front"), newStream("m", "virtualGateway", "gw")}
	for _, ps := range callers {
		feed(tel, ps, gauge(uptimeStat, 1), counter(vc+"upstream_rq_completed", 0), counter(vc+"upstream_rq_5xx", 0),
			histogram(vc+"upstream_rq_time", nil))
	}
	c.advance(5 * time.Second)
	feed(tel, callers[0], counter(vc+"upstream_rq_completed", 90), counter(vc+"upstream_rq_5xx", 9),
		histogram(vc+"upstream_rq_time", map[float64]uint64{3: 90}))
	feed(tel, callers[1], counter(vc+"upstream_rq_completed", 10), counter(vc+"upstream_rq_5xx", 1),
		histogram(vc+"upstream_rq_time", map[float64]uint64{3: 10}))

	resp := tel.response("m", viewServices)
	if len(resp.Nodes) != 0 || len(resp.Edges) != 0 || len(resp.Services) != 1 {
		t.Fatalf("services view = %+v, want one service only", resp)
	}
	s := resp.Services[0]
	if s.Service != "color.local" || s.Proxies != 2 || s.Requests != 100 || s.Errors != 10 {
		t.Errorf("service = %+v, want color.local, 2 proxies, 100 requests, 10 errors", s)
	}
	if s.SuccessRate == nil || math.Abs(*s.SuccessRate-0.9) > 1e-9 {
		t.Errorf("success rate %v, want 0.9", deref(s.SuccessRate))
	}
	if s.LatencyP50Ms == nil || *s.LatencyP50Ms < 1 || *s.LatencyP50Ms > 5 {
		t.Errorf("p50 %v ms, want in the 1-5 ms bucket", deref(s.LatencyP50Ms))
	}
	if n := tel.response("m", viewNodes); len(n.Nodes) != 0 || n.Services != nil {
		t.Errorf("nodes view holds the service window: %+v", n)
	}
	want := `
# HELP trellis_service_requests_total Requests since the server started, at the virtual service, measured by its callers' proxies.
# TYPE trellis_service_requests_total counter
trellis_service_requests_total{mesh="m",service="color.local"} 100
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "trellis_service_requests_total"); err != nil {
		t.Error(err)
	}
	if n, err := testutil.GatherAndCount(reg, "trellis_service_active_connections"); err != nil || n != 0 {
		t.Errorf("trellis_service_active_connections: %d series (%v), want none", n, err)
	}
}

func deref(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}
