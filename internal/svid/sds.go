package svid

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	secretv3 "github.com/envoyproxy/go-control-plane/envoy/service/secret/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	serverv3 "github.com/envoyproxy/go-control-plane/pkg/server/v3"
	"google.golang.org/grpc"
)

// SVIDAlias is the second name the SVID is served under (auto-mTLS
// callers use it, irgen.SVIDSecretAlias).
const SVIDAlias = "default"

// stopGrace bounds the graceful stop of the SDS gRPC server.
const stopGrace = 2 * time.Second

// SDS serves the current identity to Envoy over the SDS API. Update
// replaces the secrets; open streams receive them at once.
type SDS struct {
	cache *cachev3.LinearCache
	log   *slog.Logger

	mu      sync.Mutex
	current *Identity
}

// NewSDS returns an SDS server with no secrets yet: Envoy waits for them
// (listeners using them stay warming) until the first Update.
func NewSDS(log *slog.Logger) *SDS {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &SDS{cache: cachev3.NewLinearCache(resourcev3.SecretType), log: log}
}

// SecretNames are the names an identity is served under: its SPIFFE id
// and SVIDAlias for the certificate, the trust domain and
// spiffe://<trust domain> (SPIRE's name) for the bundle.
func SecretNames(i *Identity) (cert, bundle []string) {
	td := i.ID.TrustDomain
	return []string{i.ID.String(), SVIDAlias}, []string{td, "spiffe://" + td}
}

// Update publishes an identity (a renewal or a new trust bundle).
func (s *SDS) Update(i *Identity) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.update(i)
}

// UpdateBundle publishes the current identity with bundlePEM, asked for
// at asked, as its trust bundle, and reports whether that changed it.
// Without an identity yet, or with one whose answer (and bundle) arrived
// after asked, it does nothing: a renewal racing the poll brought a bundle
// at least as fresh.
func (s *SDS) UpdateBundle(bundlePEM []byte, asked time.Time) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.current == nil || s.current.Issued.After(asked) || bytes.Equal(s.current.BundlePEM, bundlePEM) {
		return false, nil
	}
	next := *s.current
	next.BundlePEM = bundlePEM
	return true, s.update(&next)
}

// update publishes i; s.mu is held.
func (s *SDS) update(i *Identity) error {
	certNames, bundleNames := SecretNames(i)
	res := map[string]types.Resource{}
	for _, n := range certNames {
		res[n] = &tlsv3.Secret{Name: n, Type: &tlsv3.Secret_TlsCertificate{TlsCertificate: &tlsv3.TlsCertificate{
			CertificateChain: inline(i.ChainPEM),
			PrivateKey:       inline(i.KeyPEM),
		}}}
	}
	for _, n := range bundleNames {
		res[n] = &tlsv3.Secret{Name: n, Type: &tlsv3.Secret_ValidationContext{ValidationContext: &tlsv3.CertificateValidationContext{
			TrustedCa: inline(i.BundlePEM),
		}}}
	}
	for n, r := range res {
		if err := r.(*tlsv3.Secret).ValidateAll(); err != nil {
			return fmt.Errorf("secret %s: %w", n, err)
		}
	}
	s.current = i
	s.cache.SetResources(res)
	s.log.Info("sds: secrets updated", "spiffeId", i.ID.String(), "notAfter", i.NotAfter().UTC().Format(time.RFC3339))
	return nil
}

// Current is the identity last published, or nil.
func (s *SDS) Current() *Identity {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.current
}

func inline(b []byte) *corev3.DataSource {
	return &corev3.DataSource{Specifier: &corev3.DataSource_InlineBytes{InlineBytes: b}}
}

// Serve listens on the Unix socket path and serves SDS until ctx ends.
func (s *SDS) Serve(ctx context.Context, path string) error {
	ln, err := Listen(path)
	if err != nil {
		return err
	}
	return s.ServeListener(ctx, ln)
}

// Listen opens the Unix socket path (replacing a stale socket file) with
// mode 0600. Listening before Envoy starts spares it a failed first fetch.
func Listen(path string) (net.Listener, error) {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("sds socket: %w", err)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("sds socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("sds socket: %w", err)
	}
	return ln, nil
}

// ServeListener serves SDS on ln until ctx ends; it closes ln.
func (s *SDS) ServeListener(ctx context.Context, ln net.Listener) error {
	return s.serve(ctx, ln)
}

func (s *SDS) serve(ctx context.Context, ln net.Listener) error {
	gs := grpc.NewServer()
	secretv3.RegisterSecretDiscoveryServiceServer(gs, serverv3.NewServer(ctx, s.cache, nil))
	errc := make(chan error, 1)
	go func() { errc <- gs.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("sds server: %w", err)
	case <-ctx.Done():
	}
	stopped := make(chan struct{})
	go func() { gs.GracefulStop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(stopGrace):
		gs.Stop()
		<-stopped
	}
	<-errc
	return nil
}
