package ca

import "github.com/prometheus/client_golang/prometheus"

// metrics are the CA's Prometheus metrics.
type metrics struct {
	issued   prometheus.Counter
	failures *prometheus.CounterVec
	tokens   *prometheus.CounterVec
	proofs   *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		issued: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "trellis_ca_certificates_issued_total",
			Help: "X.509 SVIDs the built-in CA signed.",
		}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trellis_ca_sign_failures_total",
			Help: "Signing requests refused or failed, by reason (bad_request, forbidden, internal).",
		}, []string{"reason"}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trellis_ca_join_tokens_total",
			Help: "Join token checks, by result (accepted, unknown, expired, used, mismatch).",
		}, []string{"result"}),
		proofs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trellis_ca_proofs_total",
			Help: "Proofs of possession of a current SVID (renewals and bundle polls), by result (accepted, refused).",
		}, []string{"result"}),
	}
	if reg != nil {
		reg.MustRegister(m.issued, m.failures, m.tokens, m.proofs)
	}
	return m
}

// CountRefusal counts a signing request refused before Sign (reason
// bad_request or forbidden).
func (c *CA) CountRefusal(reason string) { c.metrics.failures.WithLabelValues(reason).Inc() }
