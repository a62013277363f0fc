package enrol

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Proof of possession (docs/identity.md, "Renewal"): a sidecar that holds
// a valid SVID renews it, and reads the trust bundle, by proving it holds
// the SVID's key instead of presenting its join token again (a single-use
// token was consumed at first enrolment). The proof carries the current
// certificate chain and a signature by its key over ProofMessage.
type Proof struct {
	// CertificateChain is the PEM leaf (the current SVID) followed by any
	// intermediates.
	CertificateChain string `json:"certificateChain"`
	// Timestamp is when the proof was made, RFC 3339; the CA accepts it
	// within ProofSkew of its own clock.
	Timestamp string `json:"timestamp"`
	// Signature is base64 (standard, padded): ECDSA ASN.1 or RSA PKCS#1
	// v1.5, over the SHA-256 of ProofMessage.
	Signature string `json:"signature"`
}

// ProofSkew bounds how far a proof's timestamp may be from the CA's clock
// either way: a captured proof is replayable only this long (and a
// replayed renewal signs the replayer's CSR only if it is the same CSR,
// whose key the replayer lacks).
const ProofSkew = 5 * time.Minute

// ProofHeader carries a Proof on GET BundlePath: the JSON, base64url
// without padding.
const ProofHeader = "X-Trellis-Proof"

// What a proof is for (domain separation: a bundle proof cannot renew).
const (
	ProofSign   = "sign"
	ProofBundle = "bundle"
)

// maxProofHeader bounds the encoded header a caller may send.
const maxProofHeader = 16 << 10

// ProofMessage is the signed message: purpose, timestamp and subject (the
// new CSR's DER for ProofSign; the SPIFFE id for ProofBundle).
func ProofMessage(purpose, timestamp string, subject []byte) []byte {
	msg := []byte("trellis-proof-v1\n" + purpose + "\n" + timestamp + "\n")
	return append(msg, subject...)
}

// MakeProof signs a proof at now with key for the PEM chain it belongs to.
func MakeProof(key crypto.Signer, chainPEM []byte, purpose string, subject []byte, now time.Time) (*Proof, error) {
	ts := now.UTC().Format(time.RFC3339)
	sum := sha256.Sum256(ProofMessage(purpose, ts, subject))
	switch key.Public().(type) {
	case *ecdsa.PublicKey, *rsa.PublicKey:
	default:
		return nil, fmt.Errorf("proof: key type %T (want ECDSA or RSA)", key.Public())
	}
	sig, err := key.Sign(rand.Reader, sum[:], crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("proof: sign: %w", err)
	}
	return &Proof{CertificateChain: string(chainPEM), Timestamp: ts, Signature: base64.StdEncoding.EncodeToString(sig)}, nil
}

// EncodeProofHeader is the ProofHeader value of p.
func EncodeProofHeader(p *Proof) (string, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// DecodeProofHeader parses a ProofHeader value (untrusted input,
// FuzzDecodeProofHeader).
func DecodeProofHeader(v string) (*Proof, error) {
	if len(v) > maxProofHeader {
		return nil, fmt.Errorf("proof header larger than %d bytes", maxProofHeader)
	}
	b, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil {
		return nil, fmt.Errorf("proof header: %w", err)
	}
	var p Proof
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("proof header: %w", err)
	}
	if p.CertificateChain == "" || p.Timestamp == "" || p.Signature == "" {
		return nil, errors.New("proof header: certificateChain, timestamp and signature are required")
	}
	return &p, nil
}
