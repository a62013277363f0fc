package ca

import (
	"testing"
	"time"
)

// BenchmarkSign measures SVIDs issued per second by one CA: a store read
// of the CA state (cached parse), an ECDSA P-256 signature, encoding.
// The CSR is parsed once outside the loop (see BenchmarkParseCSR).
func BenchmarkSign(b *testing.B) {
	c, _ := newTestCA(b, time.Hour)
	csrPEM, _ := csrFor(b, nodeURI)
	csr, id, err := ParseCSR(csrPEM, c.TrustDomain())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	start := time.Now()
	for b.Loop() {
		if _, err := c.Sign(b.Context(), csr, id); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "certs/s")
}

// BenchmarkParseCSR measures CSR decoding and self-signature checks.
func BenchmarkParseCSR(b *testing.B) {
	csrPEM, _ := csrFor(b, nodeURI)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := ParseCSR(csrPEM, "trellis.local"); err != nil {
			b.Fatal(err)
		}
	}
}
