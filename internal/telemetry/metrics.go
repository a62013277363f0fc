package telemetry

import (
	"slices"

	"github.com/prometheus/client_golang/prometheus"
)

// receiverMetrics are the receiver's own costs and bounds.
type receiverMetrics struct {
	messages       prometheus.Counter
	refused        *prometheus.CounterVec
	seriesDropped  prometheus.Counter
	windowsDropped prometheus.Counter
	resets         prometheus.Counter
	accResets      prometheus.Counter
	layouts        prometheus.Counter
}

func newReceiverMetrics(reg prometheus.Registerer, t *Telemetry) *receiverMetrics {
	m := &receiverMetrics{
		messages: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "trellis_telemetry_messages_total",
			Help: "Envoy MetricsService messages received.",
		}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trellis_telemetry_streams_refused_total",
			Help: "Metrics streams refused or ended, by reason (bad_identifier, permission_denied, too_many_streams, too_large, no_first_message).",
		}, []string{"reason"}),
		seriesDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "trellis_telemetry_series_dropped_total",
			Help: "Stat samples ignored because their stream already remembers the maximum number of series.",
		}),
		windowsDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "trellis_telemetry_windows_dropped_total",
			Help: "Samples dropped because the maximum number of node and edge windows is kept.",
		}),
		resets: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "trellis_telemetry_counter_resets_total",
			Help: "Envoy counters or histograms seen going backwards (counted from zero).",
		}),
		accResets: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "trellis_telemetry_stream_cache_resets_total",
			Help: "Per-stream window caches emptied because a stream fed more than the maximum number of series' windows.",
		}),
		layouts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "trellis_telemetry_stream_layouts_total",
			Help: "Per-stream family layouts built: one at each stream's first message, then one per message whose families differ from the previous message's (at most the maximum number of series are remembered).",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.messages, m.refused, m.seriesDropped, m.windowsDropped, m.resets, m.accResets, m.layouts,
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "trellis_telemetry_streams",
				Help: "Open Envoy metrics streams.",
			}, func() float64 { return float64(t.count(func(t *Telemetry) int { return len(t.streams) })) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "trellis_telemetry_windows",
				Help: "Node and edge windows kept.",
			}, func() float64 { return float64(t.count(func(t *Telemetry) int { return len(t.entries) })) }),
			&collector{t: t})
	}
	return m
}

func (t *Telemetry) count(f func(*Telemetry) int) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return f(t)
}

// collector exposes the golden signals as Prometheus series, computed at
// scrape time from the windows.
type collector struct{ t *Telemetry }

func desc(name, help string, labels []string, extra ...string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, append(append([]string{}, labels...), extra...), nil)
}

// descs are the series of one side (node or edge).
type descs struct {
	rate, success, latency, active, requests, errors *prometheus.Desc
}

func newDescs(prefix, what string, labels []string) descs {
	return descs{
		rate:     desc(prefix+"request_rate", "Requests per second over the telemetry window, "+what+".", labels),
		success:  desc(prefix+"success_ratio", "Share of non-5xx responses over the telemetry window, "+what+".", labels),
		latency:  desc(prefix+"latency_seconds", "Latency quantiles over the telemetry window from Envoy's histograms, "+what+".", labels, "quantile"),
		active:   desc(prefix+"active_connections", "Active connections reported by the proxies, "+what+".", labels),
		requests: desc(prefix+"requests_total", "Requests since the server started, "+what+".", labels),
		errors:   desc(prefix+"errors_total", "5xx responses since the server started, "+what+".", labels),
	}
}

// Series names: trellis_node_* are a proxy's inbound figures (virtual
// node or gateway), trellis_edge_* a caller's figures toward a callee.
// Both are built once per scrape (the collector holds no state).
// trellis_service_* a virtual service's figures summed over its callers.
func (c *collector) descs() (node, edge, service descs) {
	return newDescs("trellis_node_", "inbound at the virtual node or gateway", []string{"mesh", "kind", "node"}),
		newDescs("trellis_edge_", "from the caller's proxy to the callee virtual node",
			[]string{"mesh", "source_kind", "source", "destination"}),
		newDescs("trellis_service_", "at the virtual service, measured by its callers' proxies",
			[]string{"mesh", "service"})
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	node, edge, service := c.descs()
	for _, d := range []descs{node, edge, service} {
		for _, x := range []*prometheus.Desc{d.rate, d.success, d.latency, d.active, d.requests, d.errors} {
			ch <- x
		}
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	node, edge, service := c.descs()
	for _, e := range c.t.Snapshot("") {
		d, labels := node, []string{e.Mesh, e.Kind, e.Name}
		switch {
		case e.Kind == serviceKind:
			d, labels = service, []string{e.Mesh, e.Name}
		case e.Dest != "":
			d, labels = edge, []string{e.Mesh, e.Kind, e.Name, e.Dest}
		}
		ch <- prometheus.MustNewConstMetric(d.rate, prometheus.GaugeValue, e.RequestRate, labels...)
		if e.Kind != serviceKind {
			ch <- prometheus.MustNewConstMetric(d.active, prometheus.GaugeValue, e.ActiveConnections, labels...)
		}
		ch <- prometheus.MustNewConstMetric(d.requests, prometheus.CounterValue, e.TotalRequests, labels...)
		ch <- prometheus.MustNewConstMetric(d.errors, prometheus.CounterValue, e.TotalErrors, labels...)
		if e.SuccessRate != nil {
			ch <- prometheus.MustNewConstMetric(d.success, prometheus.GaugeValue, *e.SuccessRate, labels...)
		}
		if e.LatencyP50Ms != nil {
			ch <- prometheus.MustNewConstMetric(d.latency, prometheus.GaugeValue, *e.LatencyP50Ms/1000, slices.Concat(labels, []string{"0.5"})...)
			ch <- prometheus.MustNewConstMetric(d.latency, prometheus.GaugeValue, *e.LatencyP99Ms/1000, slices.Concat(labels, []string{"0.99"})...)
		}
	}
}
