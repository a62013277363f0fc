package acm

import "github.com/prometheus/client_golang/prometheus"

// Collectors are the ACM stand-in's metrics, read from the Secrets view:
// trellis_acm_records{kind} counts the records it resolves (certificate,
// certificate-authority), trellis_acm_records_unopenable the records left
// out because their key does not open or they do not decode (a wrong
// --acm-key-file shows here).
func (s *Secrets) Collectors() []prometheus.Collector {
	gauge := func(name, help string, labels prometheus.Labels, f func() int) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help, ConstLabels: labels},
			func() float64 { return float64(f()) })
	}
	const help = "ACM stand-in records resolvable by the control plane, by kind."
	return []prometheus.Collector{
		gauge("trellis_acm_records", help, prometheus.Labels{"kind": string(KindCertificate)}, func() int {
			s.mu.RLock()
			defer s.mu.RUnlock()
			return len(s.certs)
		}),
		gauge("trellis_acm_records", help, prometheus.Labels{"kind": string(KindCA)}, func() int {
			s.mu.RLock()
			defer s.mu.RUnlock()
			return len(s.cas)
		}),
		gauge("trellis_acm_records_unopenable", "ACM stand-in records left out: undecodable, or a private key that does not open with the sealing key.", nil, func() int {
			s.mu.RLock()
			defer s.mu.RUnlock()
			return len(s.bad)
		}),
	}
}
