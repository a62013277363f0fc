package acm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/trellis-mesh/trellis/internal/store"
)

// Key layout. Everything lives under KeyPrefix, outside the App Mesh and
// registry ranges.
const (
	KeyPrefix  = "acm/"
	certPrefix = KeyPrefix + "cert/"
	caPrefix   = KeyPrefix + "ca/"
)

// ErrNotFound is returned by Delete of an ARN that holds nothing.
var ErrNotFound = errors.New("acm: no such ARN")

// Kind says what a record holds.
type Kind string

const (
	KindCertificate Kind = "certificate"
	KindCA          Kind = "certificate-authority"
)

// record is the stored form. SealedKey is the private key sealed with the
// ARN as additional data; it never leaves the server.
type record struct {
	ARN       string    `json:"arn"`
	Kind      Kind      `json:"kind"`
	CertPEM   string    `json:"certificate,omitempty"`
	ChainPEM  string    `json:"chain,omitempty"`
	SealedKey []byte    `json:"sealedKey,omitempty"`
	BundlePEM string    `json:"bundle,omitempty"`
	NotAfter  time.Time `json:"notAfter,omitzero"`
	Updated   time.Time `json:"updated"`
	// Domains is set on a certificate the built-in CA issued (Request);
	// the renewer re-issues it at half its life.
	Domains []string `json:"domains,omitempty"`
}

// Entry is what List shows of a record: never the key.
type Entry struct {
	ARN      string    `json:"arn"`
	Kind     Kind      `json:"kind"`
	NotAfter time.Time `json:"notAfter,omitzero"`
	Updated  time.Time `json:"updated"`
	// Revision is the store revision of the last import.
	Revision int64 `json:"revision"`
}

// Store imports and registers records in the shared store.
type Store struct {
	st     store.Store
	sealer Sealer
	now    func() time.Time
}

// NewStore returns a Store over st that seals private keys with sealer.
func NewStore(st store.Store, sealer Sealer) *Store {
	return &Store{st: st, sealer: sealer, now: time.Now}
}

func certKey(arn string) string { return certPrefix + url.PathEscape(arn) }
func caKey(arn string) string   { return caPrefix + url.PathEscape(arn) }

// Import stores (or replaces) a certificate under an ACM certificate ARN.
// cert is the leaf, key its private key, chain the optional
// intermediates; they are validated first.
func (s *Store) Import(ctx context.Context, arn string, cert, key, chain []byte) (Entry, error) {
	if err := CheckCertificateARN(arn); err != nil {
		return Entry{}, err
	}
	notAfter, err := checkKeyPair(cert, key, chain)
	if err != nil {
		return Entry{}, err
	}
	sealed, err := s.sealer.Seal(key, []byte(arn))
	if err != nil {
		return Entry{}, fmt.Errorf("acm: seal key: %w", err)
	}
	r := record{ARN: arn, Kind: KindCertificate, CertPEM: string(cert), ChainPEM: string(chain),
		SealedKey: sealed, NotAfter: notAfter.UTC(), Updated: s.now().UTC()}
	return s.put(ctx, certKey(arn), r)
}

// RegisterCA stores (or replaces) the CA bundle of an ACM-PCA certificate
// authority ARN.
func (s *Store) RegisterCA(ctx context.Context, arn string, bundle []byte) (Entry, error) {
	if err := CheckCAARN(arn); err != nil {
		return Entry{}, err
	}
	if _, err := checkBundle(bundle); err != nil {
		return Entry{}, err
	}
	r := record{ARN: arn, Kind: KindCA, BundlePEM: string(bundle), Updated: s.now().UTC()}
	return s.put(ctx, caKey(arn), r)
}

func (s *Store) put(ctx context.Context, key string, r record) (Entry, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return Entry{}, fmt.Errorf("acm: encode: %w", err)
	}
	rev, err := s.st.Txn(ctx, nil, []store.Op{store.Put(key, b)})
	if err != nil {
		return Entry{}, fmt.Errorf("acm: write %s: %w", r.ARN, err)
	}
	return Entry{ARN: r.ARN, Kind: r.Kind, NotAfter: r.NotAfter, Updated: r.Updated, Revision: rev}, nil
}

// List returns every record: CA bundles, then certificates, each by key.
func (s *Store) List(ctx context.Context) ([]Entry, error) {
	kvs, _, err := s.st.List(ctx, KeyPrefix, store.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("acm: list: %w", err)
	}
	out := make([]Entry, 0, len(kvs))
	for _, kv := range kvs {
		var r record
		if err := json.Unmarshal(kv.Value, &r); err != nil {
			return nil, fmt.Errorf("acm: decode %s: %w", kv.Key, err)
		}
		out = append(out, Entry{ARN: r.ARN, Kind: r.Kind, NotAfter: r.NotAfter, Updated: r.Updated, Revision: kv.ModRevision})
	}
	return out, nil
}

// Delete removes whatever an ARN holds (a certificate or a CA bundle).
// Proxies whose specs name it lose the secret: their listener stops
// serving TLS, their clients stop trusting.
func (s *Store) Delete(ctx context.Context, arn string) error {
	key := certKey(arn)
	if strings.Contains(arn, ":acm-pca:") {
		key = caKey(arn)
	}
	if _, err := s.st.Get(ctx, key); errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w: %s", ErrNotFound, arn)
	} else if err != nil {
		return fmt.Errorf("acm: read %s: %w", arn, err)
	}
	if _, err := s.st.Txn(ctx, nil, []store.Op{store.Del(key)}); err != nil {
		return fmt.Errorf("acm: delete %s: %w", arn, err)
	}
	return nil
}

func unescape(s string) (string, error) { return url.PathUnescape(s) }
