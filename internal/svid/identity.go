package svid

import (
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"time"

	"github.com/trellis-mesh/trellis/internal/ca/enrol"
)

// Identity is one issued SVID with its key and the trust bundle it came
// with. It is immutable once made.
type Identity struct {
	ID enrol.ID
	// ChainPEM is the leaf followed by any intermediates; KeyPEM its
	// PKCS#8 private key; BundlePEM the roots peers are checked against.
	ChainPEM, KeyPEM, BundlePEM []byte
	Leaf                        *x509.Certificate
	// Issued is when the answer arrived. The CA backdates NotBefore for
	// clock skew, so the lifetime that counts for renewal starts here.
	Issued time.Time
	// key is the leaf's private key, for a proof of possession at renewal
	// (nil in an Identity not made by parseSignResponse).
	key *ecdsa.PrivateKey
}

// proof signs a proof of possession of i for purpose over subject, or
// returns nil when i cannot prove anything at now (no key, or expired:
// then the caller authenticates as at first enrolment).
func (i *Identity) proof(purpose string, subject []byte, now time.Time) *enrol.Proof {
	if i == nil || i.key == nil || !now.Before(i.Leaf.NotAfter) {
		return nil
	}
	p, err := enrol.MakeProof(i.key, i.ChainPEM, purpose, subject, now)
	if err != nil {
		return nil
	}
	return p
}

// NotBefore and NotAfter are the leaf's validity.
func (i *Identity) NotBefore() time.Time { return i.Leaf.NotBefore }

// NotAfter is the leaf's expiry.
func (i *Identity) NotAfter() time.Time { return i.Leaf.NotAfter }

// RenewAt is half-way through the leaf's lifetime, counted from when it
// was issued (not from its backdated NotBefore).
func (i *Identity) RenewAt() time.Time {
	start := i.Issued
	if start.IsZero() || start.Before(i.Leaf.NotBefore) {
		start = i.Leaf.NotBefore
	}
	return start.Add(i.Leaf.NotAfter.Sub(start) / 2)
}

// maxResponse bounds the sign answer read from the server.
const maxResponse = 1 << 20

// parseSignResponse checks what the CA answered for a CSR made with key
// for id: a PEM chain whose leaf carries exactly id as URI SAN and key's
// public key, verifying against the PEM bundle. The answer is untrusted
// input (FuzzParseSignResponse).
func parseSignResponse(r enrol.SignResponse, id enrol.ID, key *ecdsa.PrivateKey) (*Identity, error) {
	chain, err := parseCerts([]byte(r.CertificateChain))
	if err != nil {
		return nil, fmt.Errorf("certificate chain: %w", err)
	}
	roots, err := parseCerts([]byte(r.TrustBundle))
	if err != nil {
		return nil, fmt.Errorf("trust bundle: %w", err)
	}
	leaf := chain[0]
	if len(leaf.URIs) != 1 || leaf.URIs[0].String() != id.String() {
		return nil, fmt.Errorf("certificate is not for %s", id)
	}
	if pub, ok := leaf.PublicKey.(*ecdsa.PublicKey); !ok || !pub.Equal(&key.PublicKey) {
		return nil, errors.New("certificate is not for our key")
	}
	pool, inter := x509.NewCertPool(), x509.NewCertPool()
	for _, c := range roots {
		pool.AddCert(c)
	}
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	opts := x509.VerifyOptions{Roots: pool, Intermediates: inter, CurrentTime: leaf.NotBefore.Add(time.Second),
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}
	if _, err := leaf.Verify(opts); err != nil {
		return nil, fmt.Errorf("certificate does not verify against the trust bundle: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("marshal key: %w", err)
	}
	return &Identity{ID: id, Leaf: leaf, key: key,
		ChainPEM:  encodeCerts(chain),
		KeyPEM:    pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}),
		BundlePEM: encodeCerts(roots),
	}, nil
}

// parseCerts parses every CERTIFICATE block; anything else is an error.
func parseCerts(b []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("unexpected PEM block %q", blk.Type)
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parse certificate: %w", err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, errors.New("no certificate")
	}
	return out, nil
}

func encodeCerts(cs []*x509.Certificate) []byte {
	var out []byte
	for _, c := range cs {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return out
}
