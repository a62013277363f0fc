package server

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"

	"github.com/trellis-mesh/trellis/internal/acm"
	"github.com/trellis-mesh/trellis/internal/auth"
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
	acm.Register(mux, acm.NewStore(s.store, sealer), s.log)
	secrets := acm.NewSecrets(s.store, sealer, s.log)
	s.metrics.MustRegister(secrets.Collectors()...)
	s.background(func() error { return secrets.Run(ctx) }, "acm")
	return secrets, nil
}
