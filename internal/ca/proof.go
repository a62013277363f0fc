package ca

import (
	"context"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"time"

	"github.com/trellis-mesh/trellis/internal/ca/enrol"
)

// ErrBadProof is wrapped by every VerifyProof refusal.
var ErrBadProof = errors.New("proof of possession refused")

// maxProofChain bounds the certificates of a proof's chain.
const maxProofChain = 4

// VerifyProof checks that p proves possession, now, of a valid SVID for
// id: the chain verifies against the trust bundle (every root not
// retired, so a renewal works across a rotation) at the CA's clock, the
// leaf's only URI SAN is id, the timestamp is within enrol.ProofSkew and
// the leaf's key signed enrol.ProofMessage(purpose, timestamp, subject).
func (c *CA) VerifyProof(ctx context.Context, p *enrol.Proof, purpose string, subject []byte, id enrol.ID) error {
	err := c.verifyProof(ctx, p, purpose, subject, id)
	switch {
	case err == nil:
		c.metrics.proofs.WithLabelValues("accepted").Inc()
	case errors.Is(err, ErrBadProof):
		c.metrics.proofs.WithLabelValues("refused").Inc()
	}
	return err
}

func (c *CA) verifyProof(ctx context.Context, p *enrol.Proof, purpose string, subject []byte, id enrol.ID) error {
	now := c.now()
	if err := checkProofTime(p.Timestamp, now); err != nil {
		return err
	}
	chain, err := parseProofChain([]byte(p.CertificateChain))
	if err != nil {
		return err
	}
	leaf := chain[0]
	if len(leaf.URIs) != 1 || leaf.URIs[0].String() != id.String() {
		return fmt.Errorf("%w: the certificate is not for %s", ErrBadProof, id)
	}
	sig, err := base64.StdEncoding.DecodeString(p.Signature)
	if err != nil {
		return fmt.Errorf("%w: signature: %w", ErrBadProof, err)
	}
	alg, err := proofAlgorithm(leaf.PublicKey)
	if err != nil {
		return err
	}
	if err := leaf.CheckSignature(alg, enrol.ProofMessage(purpose, p.Timestamp, subject), sig); err != nil {
		return fmt.Errorf("%w: signature: %w", ErrBadProof, err)
	}
	roots, err := c.Roots(ctx)
	if err != nil {
		return err
	}
	inter := x509.NewCertPool()
	for _, ic := range chain[1:] {
		inter.AddCert(ic)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		return fmt.Errorf("%w: certificate: %w", ErrBadProof, err)
	}
	return nil
}

func checkProofTime(ts string, now time.Time) error {
	t, err := time.Parse(time.RFC3339, ts)
	if err != nil {
		return fmt.Errorf("%w: timestamp: %w", ErrBadProof, err)
	}
	if d := now.Sub(t); d > enrol.ProofSkew || d < -enrol.ProofSkew {
		return fmt.Errorf("%w: timestamp %s is more than %s from the CA's clock", ErrBadProof, ts, enrol.ProofSkew)
	}
	return nil
}

// parseProofChain parses a PEM chain of 1..maxProofChain certificates.
func parseProofChain(b []byte) ([]*x509.Certificate, error) {
	if len(b) > maxCSR {
		return nil, fmt.Errorf("%w: certificate chain larger than %d bytes", ErrBadProof, maxCSR)
	}
	var out []*x509.Certificate
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" || len(out) == maxProofChain {
			return nil, fmt.Errorf("%w: want 1 to %d CERTIFICATE blocks", ErrBadProof, maxProofChain)
		}
		cert, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: certificate: %w", ErrBadProof, err)
		}
		out = append(out, cert)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no certificate", ErrBadProof)
	}
	return out, nil
}

func proofAlgorithm(pub any) (x509.SignatureAlgorithm, error) {
	switch pub.(type) {
	case *ecdsa.PublicKey:
		return x509.ECDSAWithSHA256, nil
	case *rsa.PublicKey:
		return x509.SHA256WithRSA, nil
	}
	return 0, fmt.Errorf("%w: key type %T", ErrBadProof, pub)
}
