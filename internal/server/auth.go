package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"

	"github.com/trellis-mesh/trellis/internal/apiserver/routes"
	"github.com/trellis-mesh/trellis/internal/auth"
	"github.com/trellis-mesh/trellis/internal/auth/policy"
	"github.com/trellis-mesh/trellis/internal/auth/sigv4"
	"github.com/trellis-mesh/trellis/internal/manager"
)

// AuthConfig is the API's authentication. The zero value is off, which
// suits servers embedded in tests on loopback; `trellis server` turns it on.
type AuthConfig struct {
	// Enabled puts SigV4 authentication in front of every API on the API
	// port (GET /healthz stays open).
	Enabled bool
	// KeyFile is the AES-256 key that seals access-key secrets in the
	// store; created (0600) when missing. Default <DataDir>/auth.key.
	KeyFile string
	// InsecureNoAuth allows binding non-loopback API or xDS addresses with
	// authentication off (a warning is logged at start).
	InsecureNoAuth bool
	// Authorize evaluates policies; nil means auth/policy's IAM evaluation
	// of the principal's attached policies.
	Authorize auth.Authorizer
	// Audit records every authenticated call; nil means auth/audit's log
	// in AuditDir.
	Audit auth.Auditor
	// ValidatePolicy checks policy documents attached through the admin
	// API; nil means auth/policy's Parse.
	ValidatePolicy func([]byte) error
	// AuditDir holds the audit log when Audit is nil (default
	// <DataDir>/audit).
	AuditDir string
}

// checkBind refuses non-loopback API/xDS addresses when authentication is
// off, unless InsecureNoAuth says so (then it warns).
func checkBind(cfg Config) error {
	a := cfg.Auth
	if a.Enabled {
		return nil
	}
	var open []string
	for _, addr := range []string{cfg.APIAddr, cfg.XDSAddr} {
		if addr == cfg.XDSAddr && cfg.CA.XDSMTLS {
			continue // xDS authenticates its clients itself (ca.go)
		}
		if addr != "" && !isLoopback(addr) {
			open = append(open, addr)
		}
	}
	switch {
	case len(open) > 0 && !a.InsecureNoAuth:
		return fmt.Errorf("authentication is off and %v is not a loopback address: turn --auth on, or pass --insecure-no-auth to allow anyone who can reach it to change the mesh", open)
	case a.InsecureNoAuth:
		cfg.Logger.Warn("INSECURE: API authentication is off (--insecure-no-auth); anyone who can reach the API can change the mesh",
			"api", cfg.APIAddr, "xds", cfg.XDSAddr)
	}
	return nil
}

// isLoopback: host is localhost or a loopback IP. An empty host (":9080")
// means every interface, which is not loopback.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// withAuth returns the wrapper that puts the auth middleware in front of
// the API handler, and mounts the
// admin API, bootstrapping the first admin key when the store has none.
func (s *Server) withAuth(mux *http.ServeMux, mgr *manager.Manager) (func(http.Handler) http.Handler, error) {
	a := s.cfg.Auth
	if !a.Enabled {
		return func(h http.Handler) http.Handler { return h }, nil
	}
	keyFile := s.authKeyFile()
	sealer, created, err := auth.LoadOrCreateKeyFile(keyFile)
	if err != nil {
		return nil, err
	}
	if created {
		s.log.Info("created auth key file", "path", keyFile)
	}
	if err := s.wireAuthDefaults(); err != nil {
		return nil, err
	}
	a = s.cfg.Auth
	s.keys = auth.NewKeys(s.store, sealer)
	b, err := auth.Bootstrap(context.Background(), s.keys, s.cfg.AccountID, s.cfg.Region, s.cfg.DataDir)
	if err != nil {
		return nil, err
	}
	if b != nil {
		s.adminFile = b.Path
		s.log.Info("bootstrapped the first admin access key; its secret is only in the credentials file",
			"file", b.Path, "akid", b.AccessKeyID, "principal", b.Principal)
	}
	mux.Handle(auth.AdminPathPrefix, auth.NewAdmin(s.keys, a.ValidatePolicy, s.log))
	s.mirror = auth.NewMirror(s.keys, s.metrics, s.log)
	mw := auth.NewMiddleware(auth.Options{
		Keys:         s.mirror,
		Verifier:     &sigv4.Verifier{Region: s.cfg.Region},
		Classifier:   auth.Classifier{Region: s.cfg.Region, AccountID: s.cfg.AccountID, CloudMap: policy.NewTable(), Routes: routes.NewTable()},
		Authorize:    a.Authorize,
		Audit:        a.Audit,
		ResourceTags: resourceTags(mgr),
		Logger:       s.log,
		Registerer:   s.metrics,
	})
	s.authMW = mw
	return mw.Wrap, nil
}

// Keys is the access-key store, nil when authentication is off. Tests and
// embedders use it to create principals and keys.
func (s *Server) Keys() *auth.Keys { return s.keys }

// AdminCredentialsFile is the file the first admin key was written to at
// this start ("" when it already existed or auth is off).
func (s *Server) AdminCredentialsFile() string { return s.adminFile }

// apiTLS loads the API certificate; nil means plain HTTP. HTTP/2 is
// negotiated by ALPN (net/http serves h2 on TLS listeners).
func apiTLS(certFile, keyFile string) (*tls.Config, error) {
	if certFile == "" && keyFile == "" {
		return nil, nil
	}
	if certFile == "" || keyFile == "" {
		return nil, errors.New("api tls needs both a certificate and a key (--api-tls-cert, --api-tls-key)")
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("load api tls certificate: %w", err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12, NextProtos: []string{"h2", "http/1.1"}}, nil
}

// serveAPI serves the API listener, over TLS when configured.
func (s *Server) serveAPI(ln net.Listener) error {
	if s.api.TLSConfig != nil {
		return s.api.ServeTLS(ln, "", "")
	}
	return s.api.Serve(ln)
}
