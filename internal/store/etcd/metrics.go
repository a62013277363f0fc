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
	}
	if reg == nil {
		return m
	}
	for _, c := range []prometheus.Collector{m.fences, m.fallbacks, m.rewatches} {
		if err := reg.Register(c); err != nil {
			log.Error("register etcd store metric", "err", err)
		}
	}
	return m
}
