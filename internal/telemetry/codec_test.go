package telemetry

import (
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	metricsv3 "github.com/envoyproxy/go-control-plane/envoy/service/metrics/v3"
	promv1 "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"
)

func TestDecodeFrame(t *testing.T) {
	msg := &metricsv3.StreamMetricsMessage{
		Identifier: &metricsv3.StreamMetricsMessage_Identifier{Node: &corev3.Node{Id: "mesh/m/virtualNode/a"}},
		EnvoyMetrics: []*promv1.MetricFamily{
			gauge(uptimeStat, 3),
			counter("server.memory_allocated", 1),
			counter("http.ingress.downstream_rq_completed", 10),
			counter("http.ingress.downstream_rq_2xx", 10),
			counter("cluster.cds_egress_m_b_http_80.upstream_rq_5xx", 1),
			counter("cluster.cds_egress_m_b_http_80.upstream_cx_total", 1),
			histogram("cluster.cds_egress_m_b_http_80.upstream_rq_time", map[float64]uint64{3: 1}),
			histogram("cluster.cds_egress_m_b_http_80.upstream_cx_length_ms", map[float64]uint64{3: 1}),
		},
	}
	b, err := proto.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	var got frame
	if err := decodeFrame(b, &got); err != nil {
		t.Fatal(err)
	}
	checkSelected(t, b, &got)
	if got.nodeID != "mesh/m/virtualNode/a" || got.size != len(b) {
		t.Errorf("node id %q size %d", got.nodeID, got.size)
	}
	var names []string
	for _, s := range got.samples {
		names = append(names, s.name)
	}
	want := []string{uptimeStat, "http.ingress.downstream_rq_completed", "cluster.cds_egress_m_b_http_80.upstream_rq_5xx",
		"cluster.cds_egress_m_b_http_80.upstream_rq_time"}
	if len(names) != len(want) {
		t.Fatalf("kept %v, want %v", names, want)
	}
	for i := range want {
		if names[i] != want[i] {
			t.Fatalf("kept %v, want %v", names, want)
		}
	}
	if err := decodeFrame(b[:len(b)-3], &frame{}); err == nil {
		t.Error("truncated message decoded without error")
	}
}
