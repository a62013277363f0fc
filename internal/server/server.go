package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/trellis-mesh/trellis/internal/apiserver"
	"github.com/trellis-mesh/trellis/internal/manager"
	"github.com/trellis-mesh/trellis/internal/store"
	"github.com/trellis-mesh/trellis/internal/store/bolt"
)

// Config is what `trellis server` is told by its flags.
type Config struct {
	// DataDir holds the bbolt file (trellis.db).
	DataDir string
	// APIAddr is the App Mesh REST API listen address (host:port; port 0
	// picks a free one).
	APIAddr string
	// XDSAddr is reserved for the xDS server.
	XDSAddr   string
	Region    string
	AccountID string
	Limits    manager.Limits
	Logger    *slog.Logger
	// ShutdownTimeout bounds how long in-flight requests may run on stop.
	ShutdownTimeout time.Duration
}

// Server is a running Trellis control plane.
type Server struct {
	cfg   Config
	log   *slog.Logger
	store store.Store
	api   *http.Server
	ln    net.Listener
	done  chan error
}

// Start opens the store and starts serving; it returns once the API
// listener is bound, so Addr is valid.
func Start(cfg Config) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.ShutdownTimeout == 0 {
		cfg.ShutdownTimeout = 15 * time.Second
	}
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	dbPath := filepath.Join(cfg.DataDir, "trellis.db")
	st, err := bolt.Open(dbPath, bolt.Options{Logger: cfg.Logger})
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", dbPath, err)
	}
	mgr := manager.New(st, manager.Options{Region: cfg.Region, AccountID: cfg.AccountID, Limits: cfg.Limits, Logger: cfg.Logger})
	ln, err := net.Listen("tcp", cfg.APIAddr)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("listen on api address %s: %w", cfg.APIAddr, err)
	}
	s := &Server{cfg: cfg, log: cfg.Logger, store: st, ln: ln, done: make(chan error, 1)}
	s.api = &http.Server{
		Handler:           apiserver.New(mgr, cfg.Logger),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn),
	}
	go func() { s.done <- s.api.Serve(ln) }()
	s.log.Info("trellis server started", "api", ln.Addr().String(), "store", dbPath,
		"region", cfg.Region, "account", cfg.AccountID)
	if cfg.XDSAddr != "" {
		s.log.Info("xds address reserved; the xDS server is not part of this build yet", "xds", cfg.XDSAddr)
	}
	return s, nil
}

// Addr is the bound API address.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Stop shuts down gracefully: no new connections, in-flight requests get up
// to ShutdownTimeout to finish, then the store is closed (every write that
// was acknowledged is already durable).
func (s *Server) Stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	s.log.Info("shutting down: draining API requests")
	errAPI := s.api.Shutdown(ctx)
	if err := <-s.done; err != nil && !errors.Is(err, http.ErrServerClosed) {
		errAPI = errors.Join(errAPI, err)
	}
	errStore := s.store.Close()
	if errStore != nil {
		errStore = fmt.Errorf("close store: %w", errStore)
	}
	s.log.Info("shutdown complete")
	return errors.Join(errAPI, errStore)
}

// Run starts the server and blocks until ctx is cancelled, then stops it.
func Run(ctx context.Context, cfg Config) error {
	s, err := Start(cfg)
	if err != nil {
		return err
	}
	select {
	case <-ctx.Done():
	case err := <-s.done:
		s.done <- err
		s.log.Error("api server stopped unexpectedly", "err", err)
	}
	return s.Stop()
}
