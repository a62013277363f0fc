package ca

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"

	"github.com/trellis-mesh/trellis/internal/ca/enrol"
)

// ErrBadCSR is wrapped by every ParseCSR error: the request is malformed
// or asks for something the CA does not issue (a client fault).
var ErrBadCSR = errors.New("bad certificate request")

// maxCSR bounds the PEM a caller may send.
const maxCSR = 16 << 10

// ParseCSR decodes a PEM certificate request, checks its self-signature and
// returns it with the SPIFFE id it asks for. The request must carry exactly
// one URI SAN, a proxy SPIFFE id in trustDomain, and no other SAN; its key
// must be ECDSA P-256/P-384 or RSA 2048-4096 (what Envoy can serve).
func ParseCSR(pemBytes []byte, trustDomain string) (*x509.CertificateRequest, enrol.ID, error) {
	if len(pemBytes) > maxCSR {
		return nil, enrol.ID{}, fmt.Errorf("%w: larger than %d bytes", ErrBadCSR, maxCSR)
	}
	block, _ := pem.Decode(pemBytes)
	if block == nil || (block.Type != "CERTIFICATE REQUEST" && block.Type != "NEW CERTIFICATE REQUEST") {
		return nil, enrol.ID{}, fmt.Errorf("%w: no PEM CERTIFICATE REQUEST block", ErrBadCSR)
	}
	csr, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return nil, enrol.ID{}, fmt.Errorf("%w: %w", ErrBadCSR, err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, enrol.ID{}, fmt.Errorf("%w: signature: %w", ErrBadCSR, err)
	}
	if err := checkKey(csr.PublicKey); err != nil {
		return nil, enrol.ID{}, err
	}
	if len(csr.URIs) != 1 || len(csr.DNSNames) != 0 || len(csr.EmailAddresses) != 0 || len(csr.IPAddresses) != 0 {
		return nil, enrol.ID{}, fmt.Errorf("%w: want exactly one URI SAN (the SPIFFE id) and no other SAN", ErrBadCSR)
	}
	id, err := enrol.ParseID(csr.URIs[0].String())
	if err != nil {
		return nil, enrol.ID{}, fmt.Errorf("%w: %w", ErrBadCSR, err)
	}
	if id.TrustDomain != trustDomain {
		return nil, enrol.ID{}, fmt.Errorf("%w: trust domain %q is not this CA's %q", ErrBadCSR, id.TrustDomain, trustDomain)
	}
	return csr, id, nil
}

func checkKey(pub any) error {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if k.Curve == elliptic.P256() || k.Curve == elliptic.P384() {
			return nil
		}
		return fmt.Errorf("%w: ECDSA curve %s is not P-256 or P-384", ErrBadCSR, k.Curve.Params().Name)
	case *rsa.PublicKey:
		if n := k.N.BitLen(); n >= 2048 && n <= 4096 {
			return nil
		}
		return fmt.Errorf("%w: RSA key of %d bits (want 2048-4096)", ErrBadCSR, k.N.BitLen())
	}
	return fmt.Errorf("%w: key type %T (want ECDSA or RSA)", ErrBadCSR, pub)
}
