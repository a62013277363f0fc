package e2e

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/appmesh/types"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/trellis-mesh/trellis/internal/telemetry"
	"github.com/trellis-mesh/trellis/internal/xdsgen/bootstrap"
)

// metricsSink is the bootstrap's metrics_service sink at flush (none for 0).
func metricsSink(flush time.Duration) *bootstrap.MetricsService {
	if flush <= 0 {
		return nil
	}
	return &bootstrap.MetricsService{FlushInterval: flush}
}

// signalsMesh: front calls color.local, a router splitting 90/10 across
// blue and green, each behind its own Envoy. Blue answers every 20th
// request with a 500 (exactly 5 %); green takes 30 ms per request. Every
// Envoy streams its stats to Trellis every second.
type signalsMesh struct {
	*colorMesh
	blueErrors atomic.Int64
}

const signalsFlush = time.Second

func setupSignals(t *testing.T) *signalsMesh {
	t.Helper()
	c := startTrellis(t)
	m := &signalsMesh{colorMesh: &colorMesh{cp: c, c: newClient()}}
	blueIP, greenIP, frontIP := loopbackIP(), loopbackIP(), loopbackIP()
	bluePort, greenPort := freePort(t, blueIP), freePort(t, greenIP)
	m.blue = startApp(t, "blue", blueIP, bluePort)
	m.green = startApp(t, "green", greenIP, greenPort)
	var n atomic.Int64
	m.blue.onRequest(func(w http.ResponseWriter, _ *http.Request) bool {
		if n.Add(1)%20 != 0 {
			return false
		}
		m.blueErrors.Add(1)
		http.Error(w, "injected", http.StatusInternalServerError)
		return true
	})
	m.green.onRequest(func(http.ResponseWriter, *http.Request) bool { time.Sleep(30 * time.Millisecond); return false })
	c.mesh(t, "color", "")
	c.node(t, "color", "blue", nodeSpec(blueIP, colorPort, types.PortProtocolHttp))
	c.node(t, "color", "green", nodeSpec(greenIP, colorPort, types.PortProtocolHttp))
	c.node(t, "color", "front", nodeSpec("", 0, "", "color.local"))
	c.router(t, "color", "color-router", colorPort, types.PortProtocolHttp)
	c.route(t, "color", "color-router", "color-route", prefixRoute("/", weighted(wt("blue", 90), wt("green", 10))))
	c.serviceByRouter(t, "color", "color.local", "color-router")
	startEnvoy(t, c, proxyConfig{NodeID: "mesh/color/virtualNode/blue", IP: blueIP, AppPorts: map[int]int{colorPort: bluePort}, MetricsFlush: signalsFlush})
	startEnvoy(t, c, proxyConfig{NodeID: "mesh/color/virtualNode/green", IP: greenIP, AppPorts: map[int]int{colorPort: greenPort}, MetricsFlush: signalsFlush})
	m.front = startEnvoy(t, c, proxyConfig{NodeID: "mesh/color/virtualNode/front", IP: frontIP, MetricsFlush: signalsFlush})
	m.frontAddr = fmt.Sprintf("%s:%d", frontIP, colorPort)
	return m
}

// TestGoldenSignalsAccuracy sends a known mix through real Envoys and
// compares Trellis's figures with the truth counted at the apps.
// Tolerances: request and error counts exact (Envoy counters are exact
// and the whole run fits in the 60 s window); rates follow from them;
// latency to the Envoy histogram bucket that holds it (green's 30 ms
// sleep lies in the 25-50 ms bucket); the 90/10 split within 3σ.
func TestGoldenSignalsAccuracy(t *testing.T) {
	m := setupSignals(t)
	eventually(t, 15*time.Second, m.c.expectBodyIn(m.frontAddr, "color.local", "/", "blue", "green"))
	const n = 1000
	start := time.Now()
	for range n {
		if _, _, err := m.c.get(m.frontAddr, "color.local", "/", nil); err != nil {
			t.Fatalf("request: %v", err)
		}
	}
	t.Logf("%d requests in %v", n, time.Since(start).Round(time.Millisecond))
	blue, green, blueErr := float64(m.blue.hits.Load()), float64(m.green.hits.Load()), float64(m.blueErrors.Load())
	within3Sigma(t, "blue share", int(blue), int(blue+green), 0.9)
	api := "http://" + m.cp.srv.Addr()
	// Wait until the last flush reached Trellis: both edges' totals match.
	var edges telemetry.SignalsResponse
	eventually(t, 15*time.Second, func() error {
		edges = telemetry.SignalsResponse{}
		if err := getJSON(api+"/v1/telemetry/edges?mesh=color", &edges); err != nil {
			return err
		}
		b, g := edgeOf(edges, "blue"), edgeOf(edges, "green")
		if b.TotalRequests != blue || g.TotalRequests != green {
			return fmt.Errorf("edge totals blue %v green %v, want %v %v", b.TotalRequests, g.TotalRequests, blue, green)
		}
		return nil
	})
	checkEdges(t, edges, blue, green, blueErr)
	var nodes telemetry.SignalsResponse
	eventually(t, 15*time.Second, func() error {
		nodes = telemetry.SignalsResponse{}
		if err := getJSON(api+"/v1/telemetry/signals?mesh=color", &nodes); err != nil {
			return err
		}
		if b, g := nodeOf(nodes, "blue"), nodeOf(nodes, "green"); b.Requests != blue || g.Requests != green {
			return fmt.Errorf("node requests blue %v green %v, want %v %v", b.Requests, g.Requests, blue, green)
		}
		return nil
	})
	checkNode(t, "blue", nodeOf(nodes, "blue"), blue, blueErr)
	checkNode(t, "green", nodeOf(nodes, "green"), green, 0)
	checkService(t, api, blue+green, blueErr)
	checkPrometheus(t, api, blue, green, blueErr)
}

// checkService: the virtual service color.local, as front's egress
// virtual cluster counts it, saw every request and blue's errors; its p99
// lies at or above green's 25 ms bucket (green is 10 % of the traffic,
// each request over 30 ms).
func checkService(t *testing.T, api string, requests, errors float64) {
	t.Helper()
	var svc telemetry.ServiceSignals
	eventually(t, 15*time.Second, func() error {
		var resp telemetry.SignalsResponse
		if err := getJSON(api+"/v1/telemetry/services?mesh=color", &resp); err != nil {
			return err
		}
		svc = telemetry.ServiceSignals{}
		for _, s := range resp.Services {
			if s.Service == "color.local" {
				svc = s
			}
		}
		if svc.Requests != requests {
			return fmt.Errorf("service color.local requests %v, want %v (%+v)", svc.Requests, requests, resp.Services)
		}
		return nil
	})
	if svc.Errors != errors || svc.Proxies != 1 {
		t.Errorf("service color.local: errors %v proxies %d, want %v 1", svc.Errors, svc.Proxies, errors)
	}
	if svc.SuccessRate == nil || math.Abs(*svc.SuccessRate-(1-errors/requests)) > 1e-9 {
		t.Errorf("service success %v, want %v", deref(svc.SuccessRate), 1-errors/requests)
	}
	if svc.LatencyP99Ms == nil || *svc.LatencyP99Ms < 25 {
		t.Errorf("service p99 %v ms, want ≥ 25 (green's bucket)", deref(svc.LatencyP99Ms))
	}
	t.Logf("service color.local: %v requests, %v errors, %.3f rps, success %.4f, p50 %.1f ms, p99 %.1f ms",
		svc.Requests, svc.Errors, svc.RequestRate, deref(svc.SuccessRate), deref(svc.LatencyP50Ms), deref(svc.LatencyP99Ms))
}

func checkEdges(t *testing.T, edges telemetry.SignalsResponse, blue, green, blueErr float64) {
	t.Helper()
	b, g := edgeOf(edges, "blue"), edgeOf(edges, "green")
	if b.Requests != blue || b.Errors != blueErr || g.Requests != green || g.Errors != 0 {
		t.Errorf("window counts blue %v/%v green %v/%v, want %v/%v %v/0", b.Requests, b.Errors, g.Requests, g.Errors, blue, blueErr, green)
	}
	if want := blue / edges.WindowSeconds; math.Abs(b.RequestRate-want) > 1e-9 {
		t.Errorf("blue rate %v, want %v", b.RequestRate, want)
	}
	if b.SuccessRate == nil || math.Abs(*b.SuccessRate-(1-blueErr/blue)) > 1e-9 {
		t.Errorf("blue success %v, want %v", deref(b.SuccessRate), 1-blueErr/blue)
	}
	if g.LatencyP50Ms == nil || *g.LatencyP50Ms < 25 || *g.LatencyP50Ms > 50 {
		t.Errorf("green p50 %v ms, want within the 25-50 ms bucket", deref(g.LatencyP50Ms))
	}
	if b.ActiveConnections < 1 {
		t.Errorf("front→blue active connections %v, want ≥ 1 (pooled)", b.ActiveConnections)
	}
	t.Logf("edge front→blue: %v requests, %v errors, %.3f rps, success %.4f, p50 %.1f ms, p99 %.1f ms, %v connections",
		b.Requests, b.Errors, b.RequestRate, deref(b.SuccessRate), deref(b.LatencyP50Ms), deref(b.LatencyP99Ms), b.ActiveConnections)
	t.Logf("edge front→green: %v requests, p50 %.1f ms, p99 %.1f ms", g.Requests, deref(g.LatencyP50Ms), deref(g.LatencyP99Ms))
}

func checkNode(t *testing.T, name string, n telemetry.NodeSignals, requests, errors float64) {
	t.Helper()
	if n.Requests != requests || n.Errors != errors || n.Proxies != 1 {
		t.Errorf("node %s: requests %v errors %v proxies %d, want %v %v 1", name, n.Requests, n.Errors, n.Proxies, requests, errors)
	}
	if n.SuccessRate == nil || math.Abs(*n.SuccessRate-(1-errors/requests)) > 1e-9 {
		t.Errorf("node %s success %v, want %v", name, deref(n.SuccessRate), 1-errors/requests)
	}
}

// checkPrometheus parses /metrics with expfmt and checks the same figures.
func checkPrometheus(t *testing.T, api string, blue, green, blueErr float64) {
	t.Helper()
	resp, err := http.Get(api + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	edge := func(dest string) map[string]string {
		return map[string]string{"mesh": "color", "source_kind": "virtualNode", "source": "front", "destination": dest}
	}
	node := map[string]string{"mesh": "color", "kind": "virtualNode", "node": "blue"}
	checks := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"trellis_edge_requests_total", edge("blue"), blue},
		{"trellis_edge_requests_total", edge("green"), green},
		{"trellis_edge_errors_total", edge("blue"), blueErr},
		{"trellis_edge_success_ratio", edge("blue"), 1 - blueErr/blue},
		{"trellis_node_requests_total", node, blue},
		{"trellis_node_success_ratio", node, 1 - blueErr/blue},
		{"trellis_service_requests_total", map[string]string{"mesh": "color", "service": "color.local"}, blue + green},
		{"trellis_service_errors_total", map[string]string{"mesh": "color", "service": "color.local"}, blueErr},
	}
	for _, c := range checks {
		got, ok := promValue(fams[c.name], c.labels)
		if !ok || math.Abs(got-c.want) > 1e-9 {
			t.Errorf("%s%v = %v (found %v), want %v", c.name, c.labels, got, ok, c.want)
		}
	}
	if p50, ok := promValue(fams["trellis_edge_latency_seconds"], map[string]string{"destination": "green", "quantile": "0.5"}); !ok || p50 < 0.025 || p50 > 0.050 {
		t.Errorf("green p50 %v s (found %v), want within 0.025-0.050", p50, ok)
	}
}

func promValue(f *dto.MetricFamily, labels map[string]string) (float64, bool) {
	for _, m := range f.GetMetric() {
		match := 0
		for _, lp := range m.GetLabel() {
			if v, ok := labels[lp.GetName()]; ok && v == lp.GetValue() {
				match++
			}
		}
		if match != len(labels) {
			continue
		}
		if m.Counter != nil {
			return m.GetCounter().GetValue(), true
		}
		return m.GetGauge().GetValue(), true
	}
	return 0, false
}

func getJSON(url string, v any) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

func edgeOf(r telemetry.SignalsResponse, dest string) telemetry.EdgeSignals {
	for _, e := range r.Edges {
		if e.Source == "front" && e.Destination == dest {
			return e
		}
	}
	return telemetry.EdgeSignals{}
}

func nodeOf(r telemetry.SignalsResponse, name string) telemetry.NodeSignals {
	for _, n := range r.Nodes {
		if n.Name == name {
			return n
		}
	}
	return telemetry.NodeSignals{}
}

func deref(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}

// expectMetricsStream waits until the server has an open metrics stream
// that delivered messages, and refused none.
func expectMetricsStream(t *testing.T, c *cp) {
	t.Helper()
	api := "http://" + c.srv.Addr()
	eventually(t, 15*time.Second, func() error {
		resp, err := http.Get(api + "/metrics")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		parser := expfmt.NewTextParser(model.UTF8Validation)
		fams, err := parser.TextToMetricFamilies(resp.Body)
		if err != nil {
			return err
		}
		streams, _ := promValue(fams["trellis_telemetry_streams"], nil)
		msgs, _ := promValue(fams["trellis_telemetry_messages_total"], nil)
		if streams < 1 || msgs < 1 {
			return fmt.Errorf("metrics streams %v, messages %v", streams, msgs)
		}
		if n := len(fams["trellis_telemetry_streams_refused_total"].GetMetric()); n != 0 {
			return fmt.Errorf("metrics streams refused: %v", fams["trellis_telemetry_streams_refused_total"])
		}
		return nil
	})
}
