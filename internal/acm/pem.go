package acm

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"time"
)

// ErrInvalid is returned (wrapped) for certificate material that is not
// usable: unparsable PEM, a key that does not match, a broken chain.
var ErrInvalid = errors.New("acm: invalid certificate material")

// maxPEM bounds each PEM document an import accepts.
const maxPEM = 256 << 10

// parseCerts decodes every CERTIFICATE block of a PEM document; anything
// else in it is an error.
func parseCerts(what string, doc []byte) ([]*x509.Certificate, error) {
	if len(doc) > maxPEM {
		return nil, fmt.Errorf("%w: %s is larger than %d bytes", ErrInvalid, what, maxPEM)
	}
	var out []*x509.Certificate
	for rest := doc; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("%w: %s holds a %q block, want CERTIFICATE", ErrInvalid, what, b.Type)
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrInvalid, what, err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: %s holds no PEM certificate", ErrInvalid, what)
	}
	return out, nil
}

// checkKeyPair validates an import: cert is one leaf certificate, key its
// private key, chain (optional) the intermediates, each certificate
// signed by the next. It returns the leaf's expiry.
func checkKeyPair(cert, key, chain []byte) (time.Time, error) {
	leaf, err := parseCerts("certificate", cert)
	if err != nil {
		return time.Time{}, err
	}
	if len(leaf) != 1 {
		return time.Time{}, fmt.Errorf("%w: certificate holds %d certificates; put intermediates in the chain", ErrInvalid, len(leaf))
	}
	if len(key) > maxPEM {
		return time.Time{}, fmt.Errorf("%w: private key is larger than %d bytes", ErrInvalid, maxPEM)
	}
	if _, err := tls.X509KeyPair(cert, key); err != nil {
		return time.Time{}, fmt.Errorf("%w: certificate and private key: %w", ErrInvalid, err)
	}
	all := leaf
	if len(chain) > 0 {
		inter, err := parseCerts("chain", chain)
		if err != nil {
			return time.Time{}, err
		}
		all = append(all, inter...)
	}
	for i := 0; i+1 < len(all); i++ {
		if err := all[i].CheckSignatureFrom(all[i+1]); err != nil {
			return time.Time{}, fmt.Errorf("%w: chain certificate %d does not sign certificate %d: %w", ErrInvalid, i+1, i, err)
		}
	}
	return leaf[0].NotAfter, nil
}

// checkBundle validates a CA bundle: one or more CA certificates.
func checkBundle(bundle []byte) (int, error) {
	cs, err := parseCerts("bundle", bundle)
	if err != nil {
		return 0, err
	}
	for i, c := range cs {
		if !c.IsCA {
			return 0, fmt.Errorf("%w: bundle certificate %d (%s) is not a CA", ErrInvalid, i, c.Subject)
		}
	}
	return len(cs), nil
}
