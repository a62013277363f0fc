package xdsserver

import (
	"log/slog"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the server's Prometheus collectors, and those reconcile
// reports through the server (ObserveRebuild, SetProxyCounts), so every
// xDS-side metric lives on the one Registerer. They exist (and are updated)
// even without a Registerer, which keeps the hot paths branch-free.
type metrics struct {
	connected   prometheus.Gauge
	nodes       prometheus.Gauge
	connects    prometheus.Counter
	disconnects prometheus.Counter
	refused     *prometheus.CounterVec
	acks        *prometheus.CounterVec
	nacks       *prometheus.CounterVec
	pushes      *prometheus.CounterVec
	convergence prometheus.Histogram
	pending     prometheus.Gauge
	coalesced   prometheus.Counter
	resyncs     prometheus.Counter
	rebuild     *prometheus.HistogramVec
	batch       *prometheus.HistogramVec
	unknown     prometheus.Gauge
	waiting     prometheus.Gauge
	caches      *cacheSizes
	// authRefused counts streams refused by authentication (auth.go),
	// by reason; conns and connsRejected follow the connection cap
	// (Limits.MaxConns).
	authRefused   *prometheus.CounterVec
	conns         prometheus.Gauge
	connsRejected prometheus.Counter
	// streams, grpcConns and connsAtLimit follow the stream limits
	// (limits.go).
	streams      prometheus.Gauge
	grpcConns    prometheus.Gauge
	connsAtLimit prometheus.Counter
	mbb          *mbbMetrics // make before break (mbb.go)
}

func newMetrics(reg prometheus.Registerer, log *slog.Logger) *metrics {
	latencyBuckets := prometheus.ExponentialBuckets(0.001, 2, 16) // 1 ms to ~33 s
	m := &metrics{
		connected: gauge("trellis_xds_connected_proxies", "Open ADS streams that named their node (one per connected Envoy)."),
		nodes:     gauge("trellis_xds_connected_nodes", "Node keys (snapshots) with at least one open, identified stream."),
		connects:  counter("trellis_xds_connects_total", "ADS streams identified (an Envoy connected and named its node)."),
		disconnects: counter("trellis_xds_disconnects_total",
			"Identified ADS streams that closed (an Envoy disconnected)."),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trellis_xds_streams_refused_total",
			Help: "Streams refused, by reason: invalid_node_id (the node id names no virtual node or gateway), " +
				"limit (the server held --xds-max-streams), no_request (no request within --xds-first-request-timeout).",
		}, []string{"reason"}),
		acks:   counterVec("trellis_xds_acks_total", "Responses Envoy accepted, by resource type."),
		nacks:  counterVec("trellis_xds_nacks_total", "Responses Envoy rejected, by resource type."),
		pushes: counterVec("trellis_xds_pushes_total", "Responses sent to Envoy, by resource type."),
		convergence: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "trellis_xds_convergence_seconds",
			Help:    "From SetResources changing a type of a node's snapshot to a stream ACKing that version.",
			Buckets: latencyBuckets,
		}),
		pending: gauge("trellis_xds_node_changes_pending", "Node keys whose connect or disconnect waits for reconcile."),
		coalesced: counter("trellis_xds_node_changes_coalesced_total",
			"Connects and disconnects folded into a change of the same node key already waiting for reconcile."),
		resyncs: counter("trellis_xds_node_changes_resyncs_total",
			"Times the pending node changes reached their bound and reconcile resynchronised from the connected set."),
		rebuild: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "trellis_reconcile_rebuild_duration_seconds",
			Help:    "Time to translate and publish one batch of proxies, by cause (connect, mesh).",
			Buckets: latencyBuckets,
		}, []string{"cause"}),
		batch: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "trellis_reconcile_batch_proxies",
			Help:    "Proxies translated together in one batch, by cause (connect, mesh).",
			Buckets: prometheus.ExponentialBuckets(1, 4, 9),
		}, []string{"cause"}),
		unknown: gauge("trellis_reconcile_unknown_nodes",
			"Connected node keys naming a mesh, virtual node or gateway that does not exist (served an empty configuration)."),
		waiting: gauge("trellis_reconcile_unconfigured_proxies",
			"Connected proxies that have had no configuration published yet; one that stays up is a stranded proxy."),
		caches: newCacheSizes(),
		authRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trellis_xds_streams_unauthorized_total",
			Help: "ADS streams refused by authentication (--xds-mtls), by reason (unauthenticated, permission_denied).",
		}, []string{"reason"}),
		conns: gauge("trellis_xds_listener_connections",
			"Open connections accepted on the xDS listeners (TCP, TLS, mTLS, Unix socket), counted against --xds-max-connections."),
		connsRejected: counter("trellis_xds_connections_rejected_total",
			"Connections closed at accept because the xDS listeners held --xds-max-connections open connections."),
		streams: gauge("trellis_xds_streams_open",
			"gRPC streams open on the xDS listeners (ADS, delta ADS, metrics), counted against --xds-max-streams."),
		grpcConns: gauge("trellis_xds_grpc_connections", "gRPC connections open on the xDS listeners."),
		connsAtLimit: counter("trellis_xds_connection_stream_limit_reached_total",
			"Times a connection's open streams reached --xds-max-streams-per-connection (further streams wait or are reset by HTTP/2)."),
		mbb: newMBBMetrics(),
	}
	if reg == nil {
		return m
	}
	for _, c := range []prometheus.Collector{m.connected, m.nodes, m.connects, m.disconnects, m.refused, m.acks, m.nacks, m.pushes,
		m.convergence, m.pending, m.coalesced, m.resyncs, m.rebuild, m.batch, m.unknown, m.waiting, m.caches,
		m.authRefused, m.conns, m.connsRejected, m.streams, m.grpcConns, m.connsAtLimit,
		m.mbb.held, m.mbb.stages, m.mbb.skipped, m.mbb.timeouts} {
		if err := reg.Register(c); err != nil {
			// New has no error return, and a metric clash (a second Server on
			// one registry) must not stop the mesh.
			log.Error("register xds metric", "err", err)
		}
	}
	return m
}

func gauge(name, help string) prometheus.Gauge {
	return prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help})
}

func counter(name, help string) prometheus.Counter {
	return prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
}

func counterVec(name, help string) *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, []string{"type"})
}

// ObserveRebuild records one reconcile batch: why it ran (cause: "connect"
// or "mesh"), how many proxies it translated and how long it took.
func (s *Server) ObserveRebuild(cause string, proxies int, took time.Duration) {
	s.metrics.rebuild.WithLabelValues(cause).Observe(took.Seconds())
	s.metrics.batch.WithLabelValues(cause).Observe(float64(proxies))
}

// ProxyCounts are reconcile's counts of the connected proxies it knows.
type ProxyCounts struct {
	// Unknown name a mesh, virtual node or gateway that does not exist.
	Unknown int
	// Unconfigured have had no configuration published yet.
	Unconfigured int
}

// SetProxyCounts records reconcile's counts as metrics.
func (s *Server) SetProxyCounts(c ProxyCounts) {
	s.metrics.unknown.Set(float64(c.Unknown))
	s.metrics.waiting.Set(float64(c.Unconfigured))
}

// typeLabel shortens a type URL to its message name (Cluster, Listener…).
// Only types the server sent are counted, so the label set stays small.
func typeLabel(typeURL string) string {
	return typeURL[strings.LastIndexByte(typeURL, '.')+1:]
}
