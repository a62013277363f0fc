package ca

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"time"

	"github.com/trellis-mesh/trellis/internal/ca/enrol"
	"github.com/trellis-mesh/trellis/internal/store"
)

// ErrBadImport is wrapped by Import errors that are the caller's fault.
var ErrBadImport = errors.New("bad ca import")

// maxCASwaps bounds the compare-and-swap retries of a CA change.
const maxCASwaps = 5

// Info describes the CA for `trellis ca show`.
func (c *CA) Info(ctx context.Context) (enrol.CAInfo, error) {
	v, err := c.load(ctx)
	if err != nil {
		return enrol.CAInfo{}, err
	}
	now := c.now()
	return enrol.CAInfo{TrustDomain: c.td, SVIDTTL: c.ttl.String(), Authorities: v.info(now),
		TrustBundle: v.bundlePEM(now)}, nil
}

// Rotate adds a new generated root. Unless immediate, the new root enters
// the trust bundle at once but signs only after enrol.BundleLead: longer
// than the sidecars' bundle poll gap plus a margin, and no less than half
// an SVID lifetime, so every proxy has fetched the new bundle (by its poll
// or its renewal) before any peer presents a certificate from it; the old
// authority signs until then and stays trusted until its last
// certificate expires. So no connection fails during a rotation. immediate
// (after a key compromise) switches at once and retires the old roots now.
func (c *CA) Rotate(ctx context.Context, immediate bool) error {
	cert, key, err := newRoot(c.td, c.now())
	if err != nil {
		return err
	}
	return c.add(ctx, []*x509.Certificate{cert}, key, false, immediate)
}

// Import adds an external CA: chainPEM is the signing certificate followed
// by its issuers up to a self-signed root, keyPEM its private key. It
// replaces the active authority the way Rotate does.
func (c *CA) Import(ctx context.Context, chainPEM, keyPEM []byte, immediate bool) error {
	chain, key, err := parseImport(chainPEM, keyPEM, c.now().Add(c.ttl))
	if err != nil {
		return err
	}
	return c.add(ctx, chain, key, true, immediate)
}

// add appends an authority with a compare-and-swap of the state.
func (c *CA) add(ctx context.Context, chain []*x509.Certificate, key crypto.Signer, imported, immediate bool) error {
	for range maxCASwaps {
		kv, err := c.st.Get(ctx, StateKey)
		if err != nil {
			return fmt.Errorf("read ca state: %w", err)
		}
		st, err := decodeState(kv.Value)
		if err != nil {
			return err
		}
		now := c.now()
		activeFrom := now.Add(c.lead)
		retire := activeFrom.Add(c.ttl + skew)
		if immediate {
			activeFrom, retire = now.Add(-skew), now
		}
		next := storedState{}
		for _, a := range st.Authorities {
			if a.RetireAfter != nil && !now.Before(*a.RetireAfter) {
				continue // pruned: retired
			}
			if a.RetireAfter == nil || a.RetireAfter.After(retire) {
				a.RetireAfter = &retire
			}
			next.Authorities = append(next.Authorities, a)
		}
		na, err := sealAuthority(c.sealer, chain, key, activeFrom, imported)
		if err != nil {
			return err
		}
		next.Authorities = append(next.Authorities, na)
		b, err := json.Marshal(next)
		if err != nil {
			return fmt.Errorf("encode ca state: %w", err)
		}
		_, err = c.st.Txn(ctx, []store.Compare{store.KeyAt(StateKey, kv.ModRevision)}, []store.Op{store.Put(StateKey, b)})
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err != nil {
			return fmt.Errorf("store ca state: %w", err)
		}
		c.log.Info("ca: new authority", "subject", chain[0].Subject.String(), "imported", imported,
			"activeFrom", activeFrom.UTC().Format(time.RFC3339), "previousRetireAfter", retire.UTC().Format(time.RFC3339))
		return nil
	}
	return fmt.Errorf("ca state: too many concurrent changes: %w", store.ErrConflict)
}

// parseImport checks an imported chain: a CA certificate that may sign,
// whose key is keyPEM, chaining to a self-signed root, valid past until.
func parseImport(chainPEM, keyPEM []byte, until time.Time) ([]*x509.Certificate, crypto.Signer, error) {
	var chain []*x509.Certificate
	for rest := chainPEM; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %w", ErrBadImport, err)
		}
		chain = append(chain, cert)
	}
	if len(chain) == 0 {
		return nil, nil, fmt.Errorf("%w: no PEM CERTIFICATE in the chain", ErrBadImport)
	}
	leaf, root := chain[0], chain[len(chain)-1]
	if !leaf.IsCA || !leaf.BasicConstraintsValid || leaf.KeyUsage&x509.KeyUsageCertSign == 0 {
		return nil, nil, fmt.Errorf("%w: the first certificate is not a CA that may sign certificates", ErrBadImport)
	}
	if root.CheckSignatureFrom(root) != nil {
		return nil, nil, fmt.Errorf("%w: the chain does not end with a self-signed root", ErrBadImport)
	}
	for i := 0; i+1 < len(chain); i++ {
		if err := chain[i].CheckSignatureFrom(chain[i+1]); err != nil {
			return nil, nil, fmt.Errorf("%w: certificate %d is not signed by certificate %d: %w", ErrBadImport, i, i+1, err)
		}
	}
	for i, cert := range chain {
		if cert.NotAfter.Before(until) {
			return nil, nil, fmt.Errorf("%w: certificate %d expires at %s, within one certificate lifetime", ErrBadImport, i, cert.NotAfter.UTC().Format(time.RFC3339))
		}
	}
	key, err := parseKeyPEM(keyPEM)
	if err != nil {
		return nil, nil, err
	}
	if !publicKeysEqual(leaf.PublicKey, key.Public()) {
		return nil, nil, fmt.Errorf("%w: the private key does not match the first certificate", ErrBadImport)
	}
	return chain, key, nil
}

func parseKeyPEM(keyPEM []byte) (crypto.Signer, error) {
	b, _ := pem.Decode(keyPEM)
	if b == nil {
		return nil, fmt.Errorf("%w: no PEM private key", ErrBadImport)
	}
	var key any
	var err error
	switch b.Type {
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(b.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(b.Bytes)
	default:
		key, err = x509.ParsePKCS8PrivateKey(b.Bytes)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: private key: %w", ErrBadImport, err)
	}
	s, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%w: key type %T cannot sign", ErrBadImport, key)
	}
	return s, nil
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	ea, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && ea.Equal(b)
}

// chainBytes is used by tests and the admin API to print a chain.
func chainBytes(chain []*x509.Certificate) []byte {
	var b bytes.Buffer
	for _, c := range chain {
		pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	return b.Bytes()
}
