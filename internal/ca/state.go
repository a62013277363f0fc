package ca

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"time"
)

// StateKey is the store key of the CA: one JSON document (storedState),
// the private keys in it sealed.
const StateKey = "ca/state"

// rootLifetime is the validity of a generated root.
const rootLifetime = 10 * 365 * 24 * time.Hour

// storedState is the CA as kept in the store.
type storedState struct {
	Authorities []storedAuthority `json:"authorities"`
}

// storedAuthority is one signing certificate and its sealed key.
type storedAuthority struct {
	// Chain is DER: the signing certificate first, then its issuers up to
	// and including a self-signed root (just the root when generated).
	Chain [][]byte `json:"chain"`
	// SealedKey is the PKCS #8 key of Chain[0], sealed with aad sealAAD.
	SealedKey []byte `json:"sealedKey"`
	Imported  bool   `json:"imported,omitempty"`
	// ActiveFrom is when the authority starts signing (a rotation announces
	// the new root in the trust bundle before using it).
	ActiveFrom time.Time `json:"activeFrom"`
	// RetireAfter, once a newer authority is active, is when it leaves the
	// trust bundle: the last certificate it signed has expired by then.
	RetireAfter *time.Time `json:"retireAfter,omitempty"`
}

// sealAAD binds a sealed key to the CA state and its certificate.
func sealAAD(certDER []byte) []byte {
	sum := sha256.Sum256(certDER)
	return []byte(StateKey + ":" + hex.EncodeToString(sum[:]))
}

func decodeState(b []byte) (storedState, error) {
	var st storedState
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("decode ca state: %w", err)
	}
	if len(st.Authorities) == 0 {
		return st, fmt.Errorf("decode ca state: no authority")
	}
	return st, nil
}

// newRoot generates a self-signed ECDSA P-256 root.
func newRoot(trustDomain string, now time.Time) (*x509.Certificate, crypto.Signer, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate ca key: %w", err)
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject: pkix.Name{Organization: []string{"Trellis"},
			CommonName: "Trellis CA " + trustDomain + " " + now.UTC().Format("2006-01-02T15:04:05Z")},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.Add(rootLifetime),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, nil, fmt.Errorf("create ca certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("parse ca certificate: %w", err)
	}
	return cert, key, nil
}

// randomSerial is a positive 128-bit serial number.
func randomSerial() (*big.Int, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, fmt.Errorf("serial number: %w", err)
	}
	return n.Add(n, big.NewInt(1)), nil
}

// sealAuthority builds the stored form of a signing certificate chain and
// its key.
func sealAuthority(s Sealer, chain []*x509.Certificate, key crypto.Signer, activeFrom time.Time, imported bool) (storedAuthority, error) {
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return storedAuthority{}, fmt.Errorf("marshal ca key: %w", err)
	}
	sealed, err := s.Seal(pk, sealAAD(chain[0].Raw))
	if err != nil {
		return storedAuthority{}, fmt.Errorf("seal ca key: %w", err)
	}
	a := storedAuthority{SealedKey: sealed, Imported: imported, ActiveFrom: activeFrom}
	for _, c := range chain {
		a.Chain = append(a.Chain, c.Raw)
	}
	return a, nil
}
