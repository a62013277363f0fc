package server

import (
	"context"
	"crypto"
	"fmt"
	"net/http"
	"path/filepath"
	"time"

	"github.com/trellis-mesh/trellis/internal/acm"
	"github.com/trellis-mesh/trellis/internal/auth"
	"github.com/trellis-mesh/trellis/internal/ca"
)

// startACM opens the ACM stand-in: its sealing key (the auth key,
// --auth-key-file, by default auth.key in the data directory, created on
// first start even with authentication off), its admin API on the API mux,
// and the view of its records that the reconciler resolves secrets from (a
// background stage).
func (s *Server) startACM(ctx context.Context, mux *http.ServeMux) (*acm.Secrets, error) {
	path := s.cfg.Auth.KeyFile
	if path == "" {
		path = filepath.Join(s.cfg.DataDir, "auth.key")
	}
	key, _, err := auth.LoadOrCreateKeyFile(path)
	if err != nil {
		return nil, fmt.Errorf("acm sealing key: %w", err)
	}
	sealer := acm.AuthSealer(key)
	st := acm.NewStore(s.store, sealer)
	acm.Register(mux, st, s.log)
	s.acmStore = st
	secrets := acm.NewSecrets(s.store, sealer, s.log)
	s.metrics.MustRegister(secrets.Collectors()...)
	s.background(func() error { return secrets.Run(ctx) }, "acm")
	return secrets, nil
}

// startACMRequests lets the built-in CA issue certificates under ACM ARNs
// (trellis acm request) and renews them at half-life; it runs once the CA
// is started.
func (s *Server) startACMRequests(ctx context.Context, mux *http.ServeMux) {
	if s.ca == nil || s.acmStore == nil {
		return
	}
	iss := caIssuer{s.ca}
	acm.RegisterRequests(mux, s.acmStore, iss, s.log)
	s.background(func() error { return s.acmStore.RunRenewer(ctx, iss, time.Minute, s.log) }, "acm renewer")
}

// caIssuer adapts the built-in CA to acm.Issuer.
type caIssuer struct{ c *ca.CA }

func (i caIssuer) IssueServer(ctx context.Context, pub crypto.PublicKey, dns []string) (string, time.Time, error) {
	iss, err := i.c.IssueServer(ctx, pub, dns, nil)
	if err != nil {
		return "", time.Time{}, err
	}
	return iss.ChainPEM, iss.NotAfter, nil
}
