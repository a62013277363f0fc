package telemetry

import (
	"time"

	metricsv3 "github.com/envoyproxy/go-control-plane/envoy/service/metrics/v3"
	promv1 "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"
)

// envoyBounds are Envoy's default histogram bucket bounds (ms).
var envoyBounds = []float64{0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000}

func counter(name string, v float64) *promv1.MetricFamily {
	return &promv1.MetricFamily{Name: proto.String(name), Type: promv1.MetricType_COUNTER.Enum(),
		Metric: []*promv1.Metric{{Counter: &promv1.Counter{Value: proto.Float64(v)}}}}
}

func gauge(name string, v float64) *promv1.MetricFamily {
	return &promv1.MetricFamily{Name: proto.String(name), Type: promv1.MetricType_GAUGE.Enum(),
		Metric: []*promv1.Metric{{Gauge: &promv1.Gauge{Value: proto.Float64(v)}}}}
}

// histogram builds an Envoy-style cumulative histogram from per-sample
// latencies in ms.
func histogram(name string, samples map[float64]uint64) *promv1.MetricFamily {
	h := &promv1.Histogram{}
	var total uint64
	for _, n := range samples {
		total += n
	}
	h.SampleCount = proto.Uint64(total)
	for _, ub := range envoyBounds {
		var cum uint64
		for v, n := range samples {
			if v <= ub {
				cum += n
			}
		}
		h.Bucket = append(h.Bucket, &promv1.Bucket{UpperBound: proto.Float64(ub), CumulativeCount: proto.Uint64(cum)})
	}
	return &promv1.MetricFamily{Name: proto.String(name), Type: promv1.MetricType_HISTOGRAM.Enum(),
		Metric: []*promv1.Metric{{Histogram: h}}}
}

// clock is a settable test clock.
type clock struct{ t time.Time }

func (c *clock) now() time.Time              { return c.t }
func (c *clock) advance(d time.Duration)     { c.t = c.t.Add(d) }
func newClock() *clock                       { return &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }
func newTest(c *clock, o Options) *Telemetry { o.Now = c.now; return New(o) }

// feed encodes fams as one MetricsService message, decodes it as the
// codec does, and digests and applies it for ps.
func feed(t *Telemetry, ps *proxyStream, fams ...*promv1.MetricFamily) {
	b, err := proto.Marshal(&metricsv3.StreamMetricsMessage{EnvoyMetrics: fams})
	if err != nil {
		panic(err)
	}
	f := frame{memo: ps.expected()}
	if err := decodeFrame(b, &f); err != nil {
		panic(err)
	}
	t.apply(ps, t.digest(ps, f.samples))
}

func newStream(mesh, kind, name string) *proxyStream {
	return newProxyStream(mesh, kind, name, "")
}
