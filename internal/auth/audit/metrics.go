package audit

import (
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the Log's Prometheus collectors. They exist (and are updated)
// even without a Registerer.
type metrics struct {
	records   prometheus.Counter
	errors    prometheus.Counter
	fsync     prometheus.Histogram
	batch     prometheus.Histogram
	rotations prometheus.Counter
	truncated prometheus.Counter
	// gatherWait and gatherTimeouts: the leader's bounded wait for more
	// records (Options.CommitDelay).
	gatherWait     prometheus.Histogram
	gatherTimeouts prometheus.Counter
}

func newMetrics(reg prometheus.Registerer, log *slog.Logger) *metrics {
	m := &metrics{
		records: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "trellis_audit_records_total",
			Help: "Audit records appended and fsynced.",
		}),
		errors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "trellis_audit_errors_total",
			Help: "Audit appends that failed (encode, write, fsync, rotation or a closed log).",
		}),
		fsync: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "trellis_audit_fsync_seconds",
			Help:    "Time of one sync (fdatasync) of the audit log (one per group commit).",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
		}),
		batch: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "trellis_audit_group_commit_records",
			Help:    "Records covered by one sync (group commit size).",
			Buckets: prometheus.ExponentialBuckets(1, 2, 10),
		}),
		rotations: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "trellis_audit_rotations_total",
			Help: "Audit files started because the current one reached MaxFileBytes.",
		}),
		truncated: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "trellis_audit_truncated_records_total",
			Help: "Records over MaxRecordBytes whose parameters were replaced by a size note.",
		}),
		gatherWait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "trellis_audit_commit_wait_seconds",
			Help:    "Time a group commit's leader waited for more records before writing (at most the commit delay; only under load).",
			Buckets: prometheus.ExponentialBuckets(0.00001, 2, 12),
		}),
		gatherTimeouts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "trellis_audit_commit_wait_timeouts_total",
			Help: "Group commits whose leader stopped waiting at the commit delay rather than at a full queue.",
		}),
	}
	if reg == nil {
		return m
	}
	for _, c := range m.collectors() {
		if err := reg.Register(c); err != nil {
			// A metric clash (a second Log on one registry) must not stop auditing.
			log.Error("register audit metric", "err", err)
		}
	}
	return m
}

func (m *metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.records, m.errors, m.fsync, m.batch, m.rotations, m.truncated, m.gatherWait, m.gatherTimeouts}
}
