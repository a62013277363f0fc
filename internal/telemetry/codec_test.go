package telemetry

import (
	"math"
	"slices"
	"strings"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	metricsv3 "github.com/envoyproxy/go-control-plane/envoy/service/metrics/v3"
	promv1 "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/encoding/protowire"
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

// TestDecodeFrameEncodings checks the scanner's fast paths against
// proto.Unmarshal on encodings Envoy does not produce but proto allows:
// fields out of order, repeated names, long lengths, wide tags.
func TestDecodeFrameEncodings(t *testing.T) {
	bucket := func(cumFirst bool) []byte {
		var b []byte
		if !cumFirst {
			b = protowire.AppendTag(b, fieldUpperBound, protowire.Fixed64Type)
			b = protowire.AppendFixed64(b, math.Float64bits(5))
		}
		b = protowire.AppendTag(b, fieldCumulative, protowire.VarintType)
		b = protowire.AppendVarint(b, 300)
		if cumFirst {
			b = protowire.AppendTag(b, fieldUpperBound, protowire.Fixed64Type)
			b = protowire.AppendFixed64(b, math.Float64bits(5))
		}
		return b
	}
	// bucketCount is a bucket in Envoy's order whose count (300) is the
	// varint v as written, not necessarily in its shortest form.
	bucketCount := func(v []byte) []byte {
		b := slices.Concat([]byte{fieldCumulative << 3}, v, []byte{fieldUpperBound<<3 | byte(protowire.Fixed64Type)})
		return protowire.AppendFixed64(b, math.Float64bits(5))
	}
	hist := func(bk []byte) []byte {
		h := protowire.AppendTag(nil, fieldSampleCount, protowire.VarintType)
		h = protowire.AppendVarint(h, 400)
		h = protowire.AppendTag(h, fieldBucket, protowire.BytesType)
		h = protowire.AppendBytes(h, bk)
		m := protowire.AppendTag(nil, fieldHistogram, protowire.BytesType)
		return protowire.AppendBytes(m, h)
	}
	ctr := protowire.AppendTag(nil, fieldValue, protowire.Fixed64Type)
	ctr = protowire.AppendFixed64(ctr, math.Float64bits(7))
	metricCtr := protowire.AppendBytes(protowire.AppendTag(nil, fieldCounter, protowire.BytesType), ctr)
	name := func(s string) []byte {
		return protowire.AppendBytes(protowire.AppendTag(nil, fieldFamilyName, protowire.BytesType), []byte(s))
	}
	metric := func(m []byte) []byte {
		return protowire.AppendBytes(protowire.AppendTag(nil, fieldFamilyMetric, protowire.BytesType), m)
	}
	long := "cluster.cds_egress_m_" + strings.Repeat("b", 20000) + "_http_80.upstream_rq_completed"
	wideTag := protowire.AppendTag(nil, fieldFamilyName+(1<<20), protowire.VarintType)
	wideTag = protowire.AppendVarint(wideTag, 1)
	for _, tc := range []struct {
		name string
		fam  []byte
		kept int
	}{
		{"bucket in Envoy's order", slices.Concat(name("cluster.cds_egress_m_b_http_80.upstream_rq_time"), metric(hist(bucket(true)))), 1},
		{"bucket count in three bytes", slices.Concat(name("cluster.cds_egress_m_b_http_80.upstream_rq_time"), metric(hist(bucketCount([]byte{0xac, 0x82, 0x00})))), 1},
		{"bucket count in ten bytes", slices.Concat(name("cluster.cds_egress_m_b_http_80.upstream_rq_time"), metric(hist(bucketCount(
			[]byte{0xac, 0x82, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00})))), 1},
		{"bucket reversed", slices.Concat(name("cluster.cds_egress_m_b_http_80.upstream_rq_time"), metric(hist(bucket(false)))), 1},
		{"name after metric", slices.Concat(metric(metricCtr), name("http.ingress.downstream_rq_completed")), 1},
		{"second name wins", slices.Concat(name("http.ingress.downstream_rq_completed"), metric(metricCtr), name("server.other")), 0},
		{"second name wanted", slices.Concat(name("server.other"), metric(metricCtr), name("http.ingress.downstream_rq_5xx")), 1},
		{"long name", slices.Concat(name(long), metric(metricCtr)), 1},
		{"Envoy's shape, then a wanted name", slices.Concat(name("server.other"), []byte{fieldFamilyType << 3, 0}, metric(metricCtr),
			name("http.ingress.downstream_rq_completed")), 1},
		{"Envoy's shape, wanted", slices.Concat(name("http.ingress.downstream_rq_completed"), []byte{fieldFamilyType << 3, 0}, metric(metricCtr)), 1},
		{"long varint type", slices.Concat(name("http.ingress.downstream_rq_completed"), protowire.AppendVarint([]byte{fieldFamilyType << 3}, 1<<20), metric(metricCtr)), 1},
		{"unknown wide tag", slices.Concat(wideTag, name("http.ingress.downstream_rq_completed"), metric(metricCtr)), 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := protowire.AppendBytes(protowire.AppendTag(nil, fieldEnvoyMetrics, protowire.BytesType), tc.fam)
			var f frame
			if err := decodeFrame(data, &f); err != nil {
				t.Fatal(err)
			}
			if len(f.samples) != tc.kept {
				t.Fatalf("kept %d samples, want %d", len(f.samples), tc.kept)
			}
			checkSelected(t, data, &f)
			for _, s := range f.samples {
				if s.kind == kindHistogram && (len(s.bounds) != 1 || s.bounds[0] != 5 || s.cum[0] != 300 || s.cum[1] != 400) {
					t.Errorf("histogram %v %v", s.bounds, s.cum)
				}
			}
		})
	}
}
