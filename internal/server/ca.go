package server

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"google.golang.org/grpc/credentials"

	"github.com/trellis-mesh/trellis/internal/auth"
	"github.com/trellis-mesh/trellis/internal/ca"
	"github.com/trellis-mesh/trellis/internal/ca/caapi"
	"github.com/trellis-mesh/trellis/internal/ca/enrol"
	"github.com/trellis-mesh/trellis/internal/xdsserver"
)

// CAConfig configures the built-in CA and authenticated xDS (issue 13).
type CAConfig struct {
	// TrustDomain of issued SPIFFE ids (ca.DefaultTrustDomain if empty).
	TrustDomain string
	// SVIDTTL is the lifetime of issued certificates (ca.DefaultSVIDTTL).
	SVIDTTL time.Duration
	// SealKeyFile holds the key that seals the CA's private keys in the
	// store; every replica needs the same file. Empty: an existing
	// <data-dir>/ca-seal.key (data dirs from before the shared key); else,
	// with API auth on, auth's key file (one file to back up); else
	// <data-dir>/ca-seal.key, created at first start.
	SealKeyFile string
	// XDSMTLS makes the TCP xDS listener require client certificates of
	// the built-in CA and accept a stream only when its node id names the
	// certificate's SPIFFE identity.
	XDSMTLS bool
	// XDSAllowUnauthenticated acknowledges plaintext, unauthenticated xDS;
	// it is refused unless the xDS address is a loopback address.
	XDSAllowUnauthenticated bool
	// XDSServerNames are extra DNS names of the xDS server certificate the
	// CA issues (with --xds-mtls and no --xds-tls-cert).
	XDSServerNames []string
}

// startCA opens (or creates) the CA in the store and mounts its API.
func (s *Server) startCA(ctx context.Context, mux *http.ServeMux) error {
	c := s.cfg.CA
	keyFile, create := s.caKeyFile()
	key, err := ca.LoadKeyFile(keyFile, create)
	if err != nil {
		return err
	}
	sealer, err := ca.NewAESGCM(key)
	if err != nil {
		return err
	}
	s.ca, err = ca.New(ca.Options{Store: s.store, Sealer: sealer, TrustDomain: c.TrustDomain, SVIDTTL: c.SVIDTTL,
		Logger: s.log, Registerer: s.metrics})
	if err != nil {
		return err
	}
	if err := s.ca.Ensure(ctx); err != nil {
		// A store restored from a backup into a new data dir comes without
		// its ca-seal.key. Serve everything else; the CA answers 503 until
		// the right key file is given. Authenticated xDS cannot start.
		if !errors.Is(err, ca.ErrUnseal) || c.XDSMTLS {
			return fmt.Errorf("ca: %w", err)
		}
		s.log.Error("ca: the CA in the store cannot be unsealed with this key file; enrolment is unavailable until the server is given the original one (--ca-key-file)",
			"keyFile", keyFile, "err", err)
	}
	caapi.Mount(mux, s.ca, caapi.Options{Logger: s.log, Guard: s.guard()})
	return nil
}

// checkXDSExposure refuses --xds-allow-unauthenticated off loopback and
// warns about unauthenticated xDS on a non-loopback address.
func (s *Server) checkXDSExposure() error {
	c := s.cfg.CA
	if s.cfg.XDSAddr == "" || c.XDSMTLS {
		return nil
	}
	host, _, err := net.SplitHostPort(s.cfg.XDSAddr)
	if err != nil {
		return fmt.Errorf("xds address %q: %w", s.cfg.XDSAddr, err)
	}
	ip := net.ParseIP(host)
	loopback := host == "localhost" || ip != nil && ip.IsLoopback()
	if loopback {
		return nil
	}
	if c.XDSAllowUnauthenticated {
		return fmt.Errorf("--xds-allow-unauthenticated is only accepted for a loopback --xds-addr (or the Unix socket), not %s; use --xds-mtls", s.cfg.XDSAddr)
	}
	s.log.Warn("xds is served without client authentication on a non-loopback address: any client may claim any node id; use --xds-mtls", "xds", s.cfg.XDSAddr)
	return nil
}

// xdsMTLS returns the credentials and options of the authenticated xDS
// listener: the server certificate from --xds-tls-cert/key, else one the
// CA issues and renews at half-life; client certificates verified against
// the CA's current trust bundle at every handshake.
func (s *Server) xdsMTLS() (credentials.TransportCredentials, xdsserver.AuthOptions, error) {
	opts := xdsserver.AuthOptions{Authenticate: s.xdsAuthenticator(s.ca.TrustDomain()),
		AccountID: s.cfg.AccountID}
	var getCert func(*tls.ClientHelloInfo) (*tls.Certificate, error)
	if s.cfg.XDSTLSCert != "" || s.cfg.XDSTLSKey != "" {
		if s.cfg.XDSTLSCert == "" || s.cfg.XDSTLSKey == "" {
			return nil, opts, errors.New("xds tls needs both a certificate and a key (--xds-tls-cert, --xds-tls-key)")
		}
		cert, err := tls.LoadX509KeyPair(s.cfg.XDSTLSCert, s.cfg.XDSTLSKey)
		if err != nil {
			return nil, opts, fmt.Errorf("load xds tls certificate: %w", err)
		}
		getCert = func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return &cert, nil }
	} else {
		sc := &servingCert{ca: s.ca, dns: append([]string{"localhost"}, s.cfg.CA.XDSServerNames...), ips: xdsIPs(s.cfg.XDSAddr)}
		if _, err := sc.get(nil); err != nil {
			return nil, opts, err
		}
		getCert = sc.get
	}
	base := &tls.Config{MinVersion: tls.VersionTLS12, NextProtos: []string{"h2"}}
	base.GetConfigForClient = func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
		roots, err := s.ca.Roots(hello.Context())
		if err != nil {
			return nil, err
		}
		cfg := base.Clone()
		cfg.GetConfigForClient = nil
		cfg.GetCertificate = getCert
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
		if s.authMW != nil { // stock App Mesh Envoys: TLS plus SigV4 call credentials
			cfg.ClientAuth = tls.VerifyClientCertIfGiven
		}
		cfg.ClientCAs = roots
		return cfg, nil
	}
	return credentials.NewTLS(base), opts, nil
}

// xdsIPs are the IP SANs of the xDS server certificate: loopback and the
// listen address when it names one.
func xdsIPs(addr string) []net.IP {
	ips := []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
	if host, _, err := net.SplitHostPort(addr); err == nil {
		if ip := net.ParseIP(host); ip != nil && !ip.IsUnspecified() && !ip.IsLoopback() {
			ips = append(ips, ip)
		}
	}
	return ips
}

// servingCert is the xDS server's own certificate from the built-in CA.
// The Server owns it; it holds one certificate, replaced once half of its
// lifetime has passed or when the trust bundle changed since it was
// issued (an immediate rotation must not leave it signed by a dropped
// root).
type servingCert struct {
	ca  *ca.CA
	dns []string
	ips []net.IP

	mu      sync.Mutex
	cert    *tls.Certificate
	renewAt time.Time
	bundle  string // the trust bundle when cert was issued
}

func (s *servingCert) get(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	ctx := context.Background()
	if hello != nil {
		ctx = hello.Context()
	}
	bundle, err := s.ca.Bundle(ctx)
	if err != nil {
		return nil, fmt.Errorf("xds server certificate: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cert != nil && time.Now().Before(s.renewAt) && bundle == s.bundle {
		return s.cert, nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("xds server key: %w", err)
	}
	iss, err := s.ca.IssueServer(ctx, key.Public(), s.dns, s.ips)
	if err != nil {
		return nil, fmt.Errorf("xds server certificate: %w", err)
	}
	s.cert = &tls.Certificate{Certificate: iss.ChainDER, PrivateKey: key, Leaf: iss.Leaf}
	s.renewAt = iss.Leaf.NotBefore.Add(iss.Leaf.NotAfter.Sub(iss.Leaf.NotBefore) / 2)
	s.bundle = iss.BundlePEM
	return s.cert, nil
}

// guard protects the CA admin API, the bundle and /debug/xds: with API
// authentication on, the middleware in front of the mux already does;
// without it they are served to loopback callers only.
func (s *Server) guard() func(http.Handler) http.Handler {
	if s.cfg.Auth.Enabled {
		return func(h http.Handler) http.Handler { return h }
	}
	return caapi.LoopbackOnly
}

// enrolOr sends POST /v1/ca/sign, and a sidecar's bundle refresh (GET
// /v1/ca/bundle?spiffeId=...), to the CA's enrolment handlers, around
// the auth middleware: a join token authenticates it, or, with API auth
// on, a SigV4 signature checked for appmesh:StreamAggregatedResources on
// the node's ARN (authorizeEnrol).
func (s *Server) enrolOr(next http.Handler) http.Handler {
	if s.ca == nil {
		return next
	}
	opts := caapi.Options{Logger: s.log}
	if s.authMW != nil {
		opts.Authorize = s.authorizeEnrol
	}
	sign := caapi.SignHandler(s.ca, opts)
	bundle := caapi.NodeBundleHandler(s.ca, opts)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == enrol.SignPath {
			sign.ServeHTTP(w, r)
			return
		}
		if caapi.IsNodeBundle(r) { // a sidecar's refresh, authenticated as its enrolment
			bundle.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// authorizeEnrol checks a SigV4-signed enrolment as App Mesh checked an
// Envoy's stream: the principal needs appmesh:StreamAggregatedResources
// on the ARN of the node it asks a certificate for.
func (s *Server) authorizeEnrol(r *http.Request, body []byte, id enrol.ID) error {
	if r.Header.Get("Authorization") == "" && r.URL.Query().Get("X-Amz-Signature") == "" {
		return caapi.ErrNoCredentials
	}
	arn := fmt.Sprintf("arn:aws:appmesh:%s:%s:%s", s.cfg.Region, s.cfg.AccountID, id.Path())
	op := auth.Operation{Service: auth.ServiceAppMesh, Name: "StreamAggregatedResources",
		Action: "appmesh:StreamAggregatedResources", Resource: arn, EventSource: "appmesh.amazonaws.com", ReadOnly: true}
	if _, err := s.authMW.Check(r, op, body); err != nil {
		return err
	}
	return nil
}
