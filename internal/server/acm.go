package server

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"

	"github.com/trellis-mesh/trellis/internal/acm"
)

// startACM opens the ACM stand-in: its sealing key (Config.ACMKeyFile, by
// default acm.key in the data directory, created on first start), its
// admin API on the API mux, and the view of its records that the
// reconciler resolves secrets from (a background stage).
func (s *Server) startACM(ctx context.Context, mux *http.ServeMux) (*acm.Secrets, error) {
	path := s.cfg.ACMKeyFile
	if path == "" {
		path = filepath.Join(s.cfg.DataDir, "acm.key")
	}
	sealer, err := acm.LoadOrCreateKeyFile(path)
	if err != nil {
		return nil, fmt.Errorf("acm sealing key: %w", err)
	}
	acm.Register(mux, acm.NewStore(s.store, sealer), s.log)
	secrets := acm.NewSecrets(s.store, sealer, s.log)
	s.metrics.MustRegister(secrets.Collectors()...)
	s.background(func() error { return secrets.Run(ctx) }, "acm")
	return secrets, nil
}
