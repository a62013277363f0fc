package ca

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/trellis-mesh/trellis/internal/ca/enrol"
	"github.com/trellis-mesh/trellis/internal/store"
)

// SVID lifetimes.
const (
	DefaultSVIDTTL = time.Hour
	MinSVIDTTL     = time.Minute
	MaxSVIDTTL     = 30 * 24 * time.Hour
	// DefaultTrustDomain is the trust domain when the server is given none.
	DefaultTrustDomain = "trellis.local"
	// skew is the clock skew certificates allow for: NotBefore is set this
	// far in the past, and a retiring root stays this much longer.
	skew = time.Minute
)

// Options configures a CA.
type Options struct {
	Store  store.Store
	Sealer Sealer
	// TrustDomain of the SPIFFE ids it issues (DefaultTrustDomain if empty).
	TrustDomain string
	// SVIDTTL is the lifetime of issued certificates (DefaultSVIDTTL if 0;
	// MinSVIDTTL to MaxSVIDTTL).
	SVIDTTL time.Duration
	// BundleRefresh is how often sidecars poll the trust bundle
	// (enrol.BundleRefreshInterval if 0). A rotated-in root signs only
	// after enrol.BundleLead(BundleRefresh, SVIDTTL).
	BundleRefresh time.Duration
	Logger        *slog.Logger
	Registerer    prometheus.Registerer
	// Now is the clock (time.Now if nil); tests move it.
	Now func() time.Time
}

// CA is the built-in certificate authority over the store. Safe for
// concurrent use; several replicas may run one over the same store.
type CA struct {
	st      store.Store
	sealer  Sealer
	td      string
	ttl     time.Duration
	lead    time.Duration
	log     *slog.Logger
	now     func() time.Time
	metrics *metrics

	// mu guards view, the parsed and unsealed CA state. The CA owns it; it
	// holds one state (a handful of authorities) and is replaced whenever
	// the store key's ModRevision differs from view.rev (every use reads
	// the key, so a rotation by another replica is seen at once).
	mu   sync.Mutex
	view *view
}

// New checks the options; nothing is read or written until Ensure.
func New(opts Options) (*CA, error) {
	if opts.Store == nil || opts.Sealer == nil {
		return nil, errors.New("ca: store and sealer are required")
	}
	if opts.TrustDomain == "" {
		opts.TrustDomain = DefaultTrustDomain
	}
	if !enrol.ValidTrustDomain(opts.TrustDomain) {
		return nil, fmt.Errorf("ca: invalid trust domain %q (lower-case letters, digits, '.', '-', '_')", opts.TrustDomain)
	}
	if opts.SVIDTTL == 0 {
		opts.SVIDTTL = DefaultSVIDTTL
	}
	if opts.SVIDTTL < MinSVIDTTL || opts.SVIDTTL > MaxSVIDTTL {
		return nil, fmt.Errorf("ca: svid ttl %s outside %s..%s", opts.SVIDTTL, MinSVIDTTL, MaxSVIDTTL)
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &CA{st: opts.Store, sealer: opts.Sealer, td: opts.TrustDomain, ttl: opts.SVIDTTL,
		lead: enrol.BundleLead(opts.BundleRefresh, opts.SVIDTTL), log: opts.Logger, now: opts.Now, metrics: newMetrics(opts.Registerer)}, nil
}

// TrustDomain is the trust domain of the ids the CA issues.
func (c *CA) TrustDomain() string { return c.td }

// SVIDTTL is the lifetime of issued certificates.
func (c *CA) SVIDTTL() time.Duration { return c.ttl }

// Ensure creates a root CA in the store unless one is there, and checks
// that the stored keys open with this server's sealing key.
func (c *CA) Ensure(ctx context.Context) error {
	if _, err := c.st.Get(ctx, StateKey); errors.Is(err, store.ErrNotFound) {
		cert, key, err := newRoot(c.td, c.now())
		if err != nil {
			return err
		}
		a, err := sealAuthority(c.sealer, []*x509.Certificate{cert}, key, c.now().Add(-skew), false)
		if err != nil {
			return err
		}
		b, err := json.Marshal(storedState{Authorities: []storedAuthority{a}})
		if err != nil {
			return fmt.Errorf("encode ca state: %w", err)
		}
		switch _, err := c.st.Txn(ctx, []store.Compare{store.KeyAbsent(StateKey)}, []store.Op{store.Put(StateKey, b)}); {
		case errors.Is(err, store.ErrConflict): // another replica created it first
		case err != nil:
			return fmt.Errorf("store ca state: %w", err)
		default:
			c.log.Info("ca: created a root", "trustDomain", c.td, "subject", cert.Subject.String())
		}
	} else if err != nil {
		return fmt.Errorf("read ca state: %w", err)
	}
	_, err := c.load(ctx)
	return err
}

// load returns the current view, re-reading and unsealing the state only
// when the store key changed.
func (c *CA) load(ctx context.Context) (*view, error) {
	kv, err := c.st.Get(ctx, StateKey)
	if err != nil {
		return nil, fmt.Errorf("read ca state: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.view != nil && c.view.rev == kv.ModRevision {
		return c.view, nil
	}
	st, err := decodeState(kv.Value)
	if err != nil {
		return nil, err
	}
	v, err := openState(st, c.sealer, kv.ModRevision)
	if err != nil {
		return nil, err
	}
	c.view = v
	return v, nil
}

// Bundle returns the PEM trust bundle: the roots of every authority not
// yet retired.
func (c *CA) Bundle(ctx context.Context) (string, error) {
	v, err := c.load(ctx)
	if err != nil {
		return "", err
	}
	return v.bundlePEM(c.now()), nil
}

// Roots returns the trust bundle as a pool (for the xDS server's client
// certificate check).
func (c *CA) Roots(ctx context.Context) (*x509.CertPool, error) {
	v, err := c.load(ctx)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	for _, r := range v.roots(c.now()) {
		pool.AddCert(r)
	}
	return pool, nil
}
