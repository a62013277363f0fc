package acm

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/trellis-mesh/trellis/internal/store"
)

// Issuer is the built-in CA (internal/ca) as Request needs it: a serving
// certificate for DNS names, as a PEM chain (leaf first) and its expiry.
type Issuer interface {
	IssueServer(ctx context.Context, pub crypto.PublicKey, dns []string) (chainPEM string, notAfter time.Time, err error)
}

// ErrImported is returned by Request for an ARN holding an imported
// certificate: Trellis does not replace what the user brought.
var ErrImported = errors.New("acm: the ARN holds an imported certificate; delete it first")

// Request has the built-in CA issue a certificate for domains under an
// ACM certificate ARN (as ACM's RequestCertificate did), with a fresh
// P-256 key sealed like an imported one. RunRenewer keeps it current.
func (s *Store) Request(ctx context.Context, arn string, domains []string, iss Issuer) (Entry, error) {
	if err := CheckCertificateARN(arn); err != nil {
		return Entry{}, err
	}
	if len(domains) == 0 {
		return Entry{}, fmt.Errorf("%w: a request needs at least one domain", ErrInvalid)
	}
	kv, err := s.st.Get(ctx, certKey(arn))
	switch {
	case errors.Is(err, store.ErrNotFound):
		kv = store.KV{}
	case err != nil:
		return Entry{}, fmt.Errorf("acm: read %s: %w", arn, err)
	default:
		var old record
		if json.Unmarshal(kv.Value, &old) == nil && len(old.Domains) == 0 {
			return Entry{}, fmt.Errorf("%w: %s", ErrImported, arn)
		}
	}
	return s.issue(ctx, arn, domains, kv.ModRevision, iss)
}

// issue issues and writes the certificate if the record is still at rev
// (0: absent); otherwise store.ErrConflict (another replica did it).
func (s *Store) issue(ctx context.Context, arn string, domains []string, rev int64, iss Issuer) (Entry, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return Entry{}, fmt.Errorf("acm: new key: %w", err)
	}
	chain, notAfter, err := iss.IssueServer(ctx, key.Public(), domains)
	if err != nil {
		return Entry{}, fmt.Errorf("acm: issue %s: %w", arn, err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return Entry{}, fmt.Errorf("acm: encode key: %w", err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	sealed, err := s.sealer.Seal(keyPEM, []byte(arn))
	if err != nil {
		return Entry{}, fmt.Errorf("acm: seal key: %w", err)
	}
	r := record{ARN: arn, Kind: KindCertificate, CertPEM: chain, SealedKey: sealed,
		NotAfter: notAfter.UTC(), Updated: s.now().UTC(), Domains: domains}
	b, err := json.Marshal(r)
	if err != nil {
		return Entry{}, fmt.Errorf("acm: encode: %w", err)
	}
	wrote, err := s.st.Txn(ctx, []store.Compare{store.KeyAt(certKey(arn), rev)}, []store.Op{store.Put(certKey(arn), b)})
	if err != nil {
		return Entry{}, fmt.Errorf("acm: write %s: %w", arn, err)
	}
	return Entry{ARN: arn, Kind: KindCertificate, NotAfter: r.NotAfter, Updated: r.Updated, Revision: wrote}, nil
}

// Renew re-issues every requested certificate past half its life (from
// its last update to its expiry). A record another replica renewed first
// is skipped. It returns how many it renewed.
func (s *Store) Renew(ctx context.Context, iss Issuer) (int, error) {
	kvs, _, err := s.st.List(ctx, certPrefix, store.ListOptions{})
	if err != nil {
		return 0, fmt.Errorf("acm: list: %w", err)
	}
	now, n := s.now(), 0
	for _, kv := range kvs {
		var r record
		if json.Unmarshal(kv.Value, &r) != nil || len(r.Domains) == 0 {
			continue
		}
		if now.Before(r.Updated.Add(r.NotAfter.Sub(r.Updated) / 2)) {
			continue
		}
		_, err := s.issue(ctx, r.ARN, r.Domains, kv.ModRevision, iss)
		switch {
		case errors.Is(err, store.ErrConflict):
		case err != nil:
			return n, err
		default:
			n++
		}
	}
	return n, nil
}

// RunRenewer calls Renew every interval until ctx ends; a failed round is
// logged and retried at the next tick.
func (s *Store) RunRenewer(ctx context.Context, iss Issuer, every time.Duration, log *slog.Logger) error {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if n, err := s.Renew(ctx, iss); err != nil {
			log.Error("acm: renewing requested certificates", "err", err)
		} else if n > 0 {
			log.Info("acm: renewed requested certificates", "count", n)
		}
	}
}
