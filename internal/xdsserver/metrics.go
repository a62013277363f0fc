package xdsserver

import (
	"log/slog"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the server's Prometheus collectors. They exist (and are
// updated) even without a Registerer, which keeps the hot paths branch-free.
type metrics struct {
	connected prometheus.Gauge
	acks      *prometheus.CounterVec
	nacks     *prometheus.CounterVec
	pushes    *prometheus.CounterVec
	dropped   prometheus.Counter
	// refused counts streams refused by authentication (auth.go), by
	// reason; conns and connsRejected follow the connection cap.
	refused       *prometheus.CounterVec
	conns         prometheus.Gauge
	connsRejected prometheus.Counter
}

func newMetrics(reg prometheus.Registerer, log *slog.Logger) *metrics {
	m := &metrics{
		connected: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "trellis_xds_connected_proxies",
			Help: "Open ADS streams that named their node (one per connected Envoy).",
		}),
		acks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trellis_xds_acks_total",
			Help: "Responses Envoy accepted, by resource type.",
		}, []string{"type"}),
		nacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trellis_xds_nacks_total",
			Help: "Responses Envoy rejected, by resource type.",
		}, []string{"type"}),
		pushes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trellis_xds_pushes_total",
			Help: "Responses sent to Envoy, by resource type.",
		}, []string{"type"}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "trellis_xds_events_dropped_total",
			Help: "Node connect/disconnect events dropped because the Events buffer was full.",
		}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trellis_xds_streams_refused_total",
			Help: "ADS streams refused by authentication, by reason (unauthenticated, permission_denied, no_request).",
		}, []string{"reason"}),
		conns: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "trellis_xds_authenticated_listener_connections",
			Help: "Open connections on authenticated (mTLS) xDS listeners.",
		}),
		connsRejected: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "trellis_xds_connections_rejected_total",
			Help: "Connections closed at accept because an authenticated xDS listener was at its connection cap.",
		}),
	}
	if reg == nil {
		return m
	}
	for _, c := range []prometheus.Collector{m.connected, m.acks, m.nacks, m.pushes, m.dropped, m.refused, m.conns, m.connsRejected} {
		if err := reg.Register(c); err != nil {
			// New has no error return, and a metric clash (a second Server on
			// one registry) must not stop the mesh.
			log.Error("register xds metric", "err", err)
		}
	}
	return m
}

// typeLabel shortens a type URL to its message name (Cluster, Listener…).
// Only types the server sent are counted, so the label set stays small.
func typeLabel(typeURL string) string {
	return typeURL[strings.LastIndexByte(typeURL, '.')+1:]
}
