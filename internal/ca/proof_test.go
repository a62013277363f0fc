package ca

import (
	"crypto/ecdsa"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/trellis-mesh/trellis/internal/ca/enrol"
)

// issueFor signs a fresh SVID for uri and returns its chain PEM and key.
func issueFor(t *testing.T, c *CA, uri string) (string, *ecdsa.PrivateKey) {
	t.Helper()
	csrPEM, key := csrFor(t, uri)
	csr, id, err := ParseCSR(csrPEM, c.TrustDomain())
	if err != nil {
		t.Fatal(err)
	}
	iss, err := c.Sign(t.Context(), csr, id)
	if err != nil {
		t.Fatal(err)
	}
	return iss.ChainPEM, key
}

func csrDER(t *testing.T, uri string) []byte {
	t.Helper()
	p, _ := csrFor(t, uri)
	b, _ := pem.Decode(p)
	return b.Bytes
}

// TestVerifyProof: a renewal's proof of possession is accepted only for a
// valid SVID of this CA's trust bundle, for the same id, signed over the
// same CSR at a time within the skew.
func TestVerifyProof(t *testing.T) {
	const other = "spiffe://trellis.local/mesh/shop/virtualNode/db"
	id, _ := enrol.ParseID(nodeURI)
	for _, tc := range []struct {
		name string
		// mutate makes the proof from a CA c at clock clk; it returns the
		// proof and the subject the server checks it against.
		mutate func(t *testing.T, c *CA, clk *clock) (*enrol.Proof, []byte)
		want   string // "" = accepted; else in the error
	}{
		{"valid", func(t *testing.T, c *CA, clk *clock) (*enrol.Proof, []byte) {
			return proofAt(t, c, nodeURI, enrol.ProofSign, clk.Now(), nil)
		}, ""},
		{"valid across a rotation", func(t *testing.T, c *CA, clk *clock) (*enrol.Proof, []byte) {
			p, sub := proofAt(t, c, nodeURI, enrol.ProofSign, clk.Now(), nil)
			if err := c.Rotate(t.Context(), false); err != nil {
				t.Fatal(err)
			}
			return p, sub
		}, ""},
		{"expired certificate", func(t *testing.T, c *CA, clk *clock) (*enrol.Proof, []byte) {
			chain, key := issueFor(t, c, nodeURI)
			clk.Add(2 * time.Minute) // the TTL is one minute
			return signProof(t, chain, key, enrol.ProofSign, clk.Now())
		}, "expired"},
		{"other CA", func(t *testing.T, c *CA, clk *clock) (*enrol.Proof, []byte) {
			o, _ := newTestCA(t, time.Minute)
			chain, key := issueFor(t, o, nodeURI)
			return signProof(t, chain, key, enrol.ProofSign, clk.Now())
		}, "unknown authority"},
		{"id mismatch", func(t *testing.T, c *CA, clk *clock) (*enrol.Proof, []byte) {
			return proofAt(t, c, other, enrol.ProofSign, clk.Now(), nil)
		}, "not for"},
		{"bad signature", func(t *testing.T, c *CA, clk *clock) (*enrol.Proof, []byte) {
			p, sub := proofAt(t, c, nodeURI, enrol.ProofSign, clk.Now(), nil)
			return p, append(sub, 0) // signed over another CSR
		}, "signature"},
		{"signature by another key", func(t *testing.T, c *CA, clk *clock) (*enrol.Proof, []byte) {
			chain, _ := issueFor(t, c, nodeURI)
			_, key := csrFor(t, nodeURI)
			return signProof(t, chain, key, enrol.ProofSign, clk.Now())
		}, "signature"},
		{"bundle proof used to renew", func(t *testing.T, c *CA, clk *clock) (*enrol.Proof, []byte) {
			return proofAt(t, c, nodeURI, enrol.ProofBundle, clk.Now(), nil)
		}, "signature"},
		{"stale timestamp", func(t *testing.T, c *CA, clk *clock) (*enrol.Proof, []byte) {
			return proofAt(t, c, nodeURI, enrol.ProofSign, clk.Now().Add(-enrol.ProofSkew-time.Second), nil)
		}, "timestamp"},
		{"future timestamp", func(t *testing.T, c *CA, clk *clock) (*enrol.Proof, []byte) {
			return proofAt(t, c, nodeURI, enrol.ProofSign, clk.Now().Add(enrol.ProofSkew+time.Second), nil)
		}, "timestamp"},
		{"timestamp within skew", func(t *testing.T, c *CA, clk *clock) (*enrol.Proof, []byte) {
			return proofAt(t, c, nodeURI, enrol.ProofSign, clk.Now().Add(-enrol.ProofSkew+time.Second), nil)
		}, ""},
		{"no certificate", func(t *testing.T, c *CA, clk *clock) (*enrol.Proof, []byte) {
			p, sub := proofAt(t, c, nodeURI, enrol.ProofSign, clk.Now(), nil)
			p.CertificateChain = "junk"
			return p, sub
		}, "no certificate"},
		{"signature not base64", func(t *testing.T, c *CA, clk *clock) (*enrol.Proof, []byte) {
			p, sub := proofAt(t, c, nodeURI, enrol.ProofSign, clk.Now(), nil)
			p.Signature = "!!"
			return p, sub
		}, "signature"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, clk := newTestCA(t, time.Minute)
			p, sub := tc.mutate(t, c, clk)
			err := c.VerifyProof(t.Context(), p, enrol.ProofSign, sub, id)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if v := testutil.ToFloat64(c.metrics.proofs.WithLabelValues("accepted")); v != 1 {
					t.Errorf("accepted proofs = %v, want 1", v)
				}
				return
			}
			if v := testutil.ToFloat64(c.metrics.proofs.WithLabelValues("refused")); v != 1 {
				t.Errorf("refused proofs = %v, want 1", v)
			}
			if !errors.Is(err, ErrBadProof) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want ErrBadProof containing %q", err, tc.want)
			}
		})
	}
}

// proofAt issues an SVID for uri and signs a proof with it at ts over a
// fresh CSR's DER (subject, if nil).
func proofAt(t *testing.T, c *CA, uri, purpose string, ts time.Time, subject []byte) (*enrol.Proof, []byte) {
	t.Helper()
	chain, key := issueFor(t, c, uri)
	if subject == nil {
		subject = csrDER(t, nodeURI)
	}
	p, err := enrol.MakeProof(key, []byte(chain), purpose, subject, ts)
	if err != nil {
		t.Fatal(err)
	}
	return p, subject
}

func signProof(t *testing.T, chain string, key *ecdsa.PrivateKey, purpose string, ts time.Time) (*enrol.Proof, []byte) {
	t.Helper()
	sub := csrDER(t, nodeURI)
	p, err := enrol.MakeProof(key, []byte(chain), purpose, sub, ts)
	if err != nil {
		t.Fatal(err)
	}
	return p, sub
}

// TestProofChainBound: a chain of maxProofChain certificates parses, one
// more is refused.
func TestProofChainBound(t *testing.T) {
	c, _ := newTestCA(t, time.Minute)
	chain, _ := issueFor(t, c, nodeURI)
	for _, tc := range []struct {
		n  int
		ok bool
	}{{maxProofChain, true}, {maxProofChain + 1, false}} {
		_, err := parseProofChain([]byte(strings.Repeat(chain, tc.n)))
		if (err == nil) != tc.ok {
			t.Errorf("%d certificates: err %v, want ok=%v", tc.n, err, tc.ok)
		}
	}
}
