package ca

import (
	"errors"
	"testing"
	"time"

	"github.com/trellis-mesh/trellis/internal/ca/enrol"
)

// FuzzParseCSR: any input is refused or yields an id in the trust domain.
func FuzzParseCSR(f *testing.F) {
	good, _ := csrFor(f, nodeURI)
	f.Add(good)
	f.Add([]byte("-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		_, id, err := ParseCSR(b, "trellis.local")
		if err != nil {
			return
		}
		if id.TrustDomain != "trellis.local" {
			t.Fatalf("accepted foreign trust domain %q", id.TrustDomain)
		}
		if back, err := enrol.ParseID(id.String()); err != nil || back != id {
			t.Fatalf("id %v does not round-trip: %v", id, err)
		}
	})
}

// FuzzParseToken: a parsed token re-encodes to its input.
func FuzzParseToken(f *testing.F) {
	f.Add("trellis-jt1.AAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	f.Add("trellis-jt1..")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		id, secret, err := ParseToken(s)
		if err != nil {
			return
		}
		if len(secret) != tokenSecretBytes || len(id) != 12 {
			t.Fatalf("bad parts of %q", s)
		}
	})
}

// FuzzVerifyProof: a proof made of arbitrary chain, timestamp and
// signature is refused with ErrBadProof (only the CA's own SVIDs with
// their keys can prove anything), and never panics.
func FuzzVerifyProof(f *testing.F) {
	c, _ := newTestCA(f, time.Minute)
	csrPEM, _ := csrFor(f, nodeURI)
	csr, id, err := ParseCSR(csrPEM, c.TrustDomain())
	if err != nil {
		f.Fatal(err)
	}
	iss, err := c.Sign(f.Context(), csr, id)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(iss.ChainPEM, time.Now().UTC().Format(time.RFC3339), "MEUCIQ==")
	f.Add("", "", "")
	f.Add(iss.ChainPEM+iss.BundlePEM, "2026-13-01T00:00:00Z", "!!")
	f.Fuzz(func(t *testing.T, chain, ts, sig string) {
		p := &enrol.Proof{CertificateChain: chain, Timestamp: ts, Signature: sig}
		err := c.VerifyProof(t.Context(), p, enrol.ProofSign, csr.Raw, id)
		if !errors.Is(err, ErrBadProof) {
			t.Fatalf("forged proof: err %v, want ErrBadProof", err)
		}
	})
}
