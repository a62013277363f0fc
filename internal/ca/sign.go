package ca

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/url"
	"time"

	"github.com/trellis-mesh/trellis/internal/ca/enrol"
)

// ErrNoAuthority means no authority may sign now (the state is damaged or
// every authority is retired or expired).
var ErrNoAuthority = errors.New("ca: no active authority")

// Issued is a signed certificate.
type Issued struct {
	// ChainPEM is the leaf followed by the intermediates, PEM.
	ChainPEM string
	// ChainDER is the same chain, DER (for a tls.Certificate).
	ChainDER [][]byte
	// BundlePEM is the trust bundle at signing time.
	BundlePEM string
	Leaf      *x509.Certificate
	NotAfter  time.Time
}

// Sign issues an SVID for id to the key of csr (which ParseCSR checked);
// whoever calls it has checked that the caller may hold id.
func (c *CA) Sign(ctx context.Context, csr *x509.CertificateRequest, id enrol.ID) (Issued, error) {
	if id.TrustDomain != c.td {
		c.metrics.failures.WithLabelValues("bad_request").Inc()
		return Issued{}, fmt.Errorf("%w: trust domain %q is not %q", ErrBadCSR, id.TrustDomain, c.td)
	}
	tmpl := &x509.Certificate{
		URIs:        []*url.URL{id.URL()},
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	iss, err := c.issue(ctx, tmpl, csr.PublicKey)
	if err != nil {
		c.metrics.failures.WithLabelValues("internal").Inc()
		return Issued{}, err
	}
	c.metrics.issued.Inc()
	return iss, nil
}

// IssueServer issues a serving certificate for the control plane itself
// (the xDS port) with the given DNS names and IP addresses.
func (c *CA) IssueServer(ctx context.Context, pub crypto.PublicKey, dns []string, ips []net.IP) (Issued, error) {
	tmpl := &x509.Certificate{
		DNSNames:    dns,
		IPAddresses: ips,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	return c.issue(ctx, tmpl, pub)
}

func (c *CA) issue(ctx context.Context, tmpl *x509.Certificate, pub crypto.PublicKey) (Issued, error) {
	v, err := c.load(ctx)
	if err != nil {
		return Issued{}, err
	}
	now := c.now()
	a, ok := v.active(now)
	if !ok {
		return Issued{}, ErrNoAuthority
	}
	serial, err := randomSerial()
	if err != nil {
		return Issued{}, err
	}
	tmpl.SerialNumber = serial
	tmpl.NotBefore = now.Add(-skew)
	tmpl.NotAfter = now.Add(c.ttl)
	for _, ca := range a.chain {
		if ca.NotAfter.Before(tmpl.NotAfter) {
			tmpl.NotAfter = ca.NotAfter
		}
	}
	if !tmpl.NotAfter.After(now) {
		return Issued{}, fmt.Errorf("%w: the signing certificate expired", ErrNoAuthority)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.chain[0], pub, a.key)
	if err != nil {
		return Issued{}, fmt.Errorf("sign certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return Issued{}, fmt.Errorf("parse issued certificate: %w", err)
	}
	var chain bytes.Buffer
	chainDER := [][]byte{der}
	for _, ca := range a.chain[:len(a.chain)-1] { // intermediates, not the root
		chainDER = append(chainDER, ca.Raw)
	}
	for _, d := range chainDER {
		pem.Encode(&chain, &pem.Block{Type: "CERTIFICATE", Bytes: d})
	}
	return Issued{ChainPEM: chain.String(), ChainDER: chainDER, BundlePEM: v.bundlePEM(now), Leaf: leaf, NotAfter: leaf.NotAfter}, nil
}
