package etcd

import (
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the store's Prometheus collectors. They exist (and are
// updated) even without a Registerer.
type metrics struct {
	fences    prometheus.Counter
	fallbacks prometheus.Counter
	rewatches prometheus.Counter
	logSize   prometheus.Gauge   // entries in the shared watch log
	logBehind prometheus.Counter // watches that fell behind it

	unfenced        prometheus.Counter // optimistic writers' reads without a fence
	optimisticRedos prometheus.Counter // their operations redone with fences
}

func newMetrics(reg prometheus.Registerer, log *slog.Logger) *metrics {
	m := &metrics{
		fences: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "trellis_etcd_read_fences_total",
			Help: "Linearizable revision reads the read cache made; concurrent reads share one.",
		}),
		fallbacks: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "trellis_etcd_read_cache_fallbacks_total",
			Help: "Reads answered by etcd because the read cache did not reach their fence within 1 s.",
		}),
		rewatches: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "trellis_etcd_watch_reopens_total",
			Help: "etcd watches reopened from their last revision after the stream broke (member died, lost its leader, cut off).",
		}),
		logSize: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "trellis_etcd_watch_log_entries",
			Help: "Watch responses kept in the read cache's event log, which serves every Watch of the store (bound 4096).",
		}),
		logBehind: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "trellis_etcd_watch_log_fallbacks_total",
			Help: "Watches that fell behind the read cache's event log (evicted at its bound, or the cache reloaded) and read etcd with a watch of their own until they caught up.",
		}),
		unfenced: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "trellis_etcd_unfenced_reads_total",
			Help: "Reads of optimistic writers served from the read cache without a fence; the writes' transactions check them.",
		}),
		optimisticRedos: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "trellis_etcd_optimistic_redos_total",
			Help: "Writes whose outcome rested on unfenced reads without a committed transaction (an error, a replay), redone with fenced reads.",
		}),
	}
	if reg == nil {
		return m
	}
	for _, c := range []prometheus.Collector{m.fences, m.fallbacks, m.rewatches, m.logSize, m.logBehind, m.unfenced, m.optimisticRedos} {
		if err := reg.Register(c); err != nil {
			log.Error("register etcd store metric", "err", err)
		}
	}
	return m
}
