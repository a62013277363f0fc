package ca

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"time"

	"github.com/trellis-mesh/trellis/internal/ca/enrol"
)

// view is the CA state parsed and unsealed, as of store revision rev.
type view struct {
	rev   int64
	auths []authority
}

type authority struct {
	stored storedAuthority
	chain  []*x509.Certificate
	key    crypto.Signer
}

// openState parses every certificate and unseals every key.
func openState(st storedState, s Sealer, rev int64) (*view, error) {
	v := &view{rev: rev}
	for i, sa := range st.Authorities {
		a := authority{stored: sa}
		for _, der := range sa.Chain {
			cert, err := x509.ParseCertificate(der)
			if err != nil {
				return nil, fmt.Errorf("ca state authority %d: %w", i, err)
			}
			a.chain = append(a.chain, cert)
		}
		if len(a.chain) == 0 {
			return nil, fmt.Errorf("ca state authority %d: no certificate", i)
		}
		pk, err := s.Open(sa.SealedKey, sealAAD(sa.Chain[0]))
		if err != nil {
			return nil, fmt.Errorf("ca state authority %d: %w (is this the key file the CA was created with?)", i, err)
		}
		key, err := x509.ParsePKCS8PrivateKey(pk)
		if err != nil {
			return nil, fmt.Errorf("ca state authority %d: parse key: %w", i, err)
		}
		signer, ok := key.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("ca state authority %d: key type %T cannot sign", i, key)
		}
		a.key = signer
		v.auths = append(v.auths, a)
	}
	return v, nil
}

func (a authority) retired(now time.Time) bool {
	return a.stored.RetireAfter != nil && !now.Before(*a.stored.RetireAfter)
}

func (a authority) root() *x509.Certificate { return a.chain[len(a.chain)-1] }

// active is the authority that signs at now: of those not retired and
// already active, the one that became active last.
func (v *view) active(now time.Time) (authority, bool) {
	best, found := authority{}, false
	for _, a := range v.auths {
		if a.retired(now) || a.stored.ActiveFrom.After(now) {
			continue
		}
		if !found || !best.stored.ActiveFrom.After(a.stored.ActiveFrom) { // ties: the later one
			best, found = a, true
		}
	}
	return best, found
}

// roots are the distinct roots of the authorities not retired at now.
func (v *view) roots(now time.Time) []*x509.Certificate {
	var out []*x509.Certificate
	for _, a := range v.auths {
		if a.retired(now) {
			continue
		}
		r, dup := a.root(), false
		for _, o := range out {
			dup = dup || bytes.Equal(o.Raw, r.Raw)
		}
		if !dup {
			out = append(out, r)
		}
	}
	return out
}

func (v *view) bundlePEM(now time.Time) string {
	var b bytes.Buffer
	for _, r := range v.roots(now) {
		pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: r.Raw})
	}
	return b.String()
}

// info describes the authorities for `trellis ca show`.
func (v *view) info(now time.Time) []enrol.Authority {
	act, _ := v.active(now)
	var out []enrol.Authority
	for _, a := range v.auths {
		c := a.chain[0]
		sum := sha256.Sum256(c.Raw)
		out = append(out, enrol.Authority{
			Subject: c.Subject.String(), SerialNumber: c.SerialNumber.Text(16),
			NotBefore: c.NotBefore, NotAfter: c.NotAfter,
			Active:   act.chain != nil && bytes.Equal(act.chain[0].Raw, c.Raw),
			Imported: a.stored.Imported, RetireAfter: a.stored.RetireAfter,
			SHA256: hex.EncodeToString(sum[:]),
		})
	}
	return out
}
