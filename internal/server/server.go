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
	"sync"
	"time"

	"github.com/trellis-mesh/trellis/internal/apiserver"
	"github.com/trellis-mesh/trellis/internal/manager"
	"github.com/trellis-mesh/trellis/internal/meshview"
	"github.com/trellis-mesh/trellis/internal/reconcile"
	"github.com/trellis-mesh/trellis/internal/registry"
	"github.com/trellis-mesh/trellis/internal/registryapi"
	"github.com/trellis-mesh/trellis/internal/store"
	"github.com/trellis-mesh/trellis/internal/store/bolt"
	"github.com/trellis-mesh/trellis/internal/xdsserver"
)

// Config is what `trellis server` is told by its flags.
type Config struct {
	// DataDir holds the bbolt file (trellis.db).
	DataDir string
	// APIAddr is the App Mesh REST API listen address (host:port; port 0
	// picks a free one).
	APIAddr string
	// XDSAddr is the xDS (ADS, gRPC) listen address; empty disables xDS.
	XDSAddr   string
	Region    string
	AccountID string
	Limits    manager.Limits
	Logger    *slog.Logger
	// ShutdownTimeout bounds how long in-flight requests may run on stop.
	ShutdownTimeout time.Duration
	// RegistryTTL is how long a registered service instance lives without
	// a heartbeat; 0 means registry.DefaultTTL (30 s).
	RegistryTTL time.Duration
}

// Server is a running Trellis control plane.
type Server struct {
	cfg   Config
	log   *slog.Logger
	store store.Store
	api   *http.Server
	ln    net.Listener
	done  chan error

	// The xDS side: the view follows the store, the reconciler translates,
	// the xDS server serves. They stop with cancel; bg counts them.
	xds    *xdsserver.Server
	xdsLn  net.Listener
	cancel context.CancelFunc
	bg     sync.WaitGroup
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
	mux := http.NewServeMux()
	mux.Handle("/", apiserver.New(mgr, cfg.Logger))
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	reg := registry.New(st, registry.Options{TTL: cfg.RegistryTTL, Logger: cfg.Logger})
	s.background(func() error { return reg.Run(ctx) }, "registry")
	regAPI := registryapi.New(reg, registryapi.Options{Region: cfg.Region, AccountID: cfg.AccountID, Logger: cfg.Logger})
	if err := s.startXDS(ctx, mux, reg); err != nil {
		cancel()
		s.bg.Wait()
		ln.Close()
		st.Close()
		return nil, err
	}
	s.api = &http.Server{
		Handler:           cloudMapOr(regAPI, mux),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn),
	}
	go func() { s.done <- s.api.Serve(ln) }()
	s.log.Info("trellis server started", "api", ln.Addr().String(), "store", dbPath,
		"region", cfg.Region, "account", cfg.AccountID)
	return s, nil
}

// startXDS starts the translation pipeline and the ADS server, and mounts
// the xDS status page on the API mux.
func (s *Server) startXDS(ctx context.Context, mux *http.ServeMux, reg *registry.Registry) error {
	if s.cfg.XDSAddr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", s.cfg.XDSAddr)
	if err != nil {
		return fmt.Errorf("listen on xds address %s: %w", s.cfg.XDSAddr, err)
	}
	s.xdsLn = ln
	s.xds = xdsserver.New(xdsserver.Options{Logger: s.log})
	view := meshview.New(s.store, s.log)
	rec := reconcile.New(view, s.xds, reconcile.Options{Logger: s.log, Endpoints: reg, EndpointChanges: reg})
	s.background(func() error { return view.Run(ctx) }, "meshview")
	s.background(func() error { return rec.Run(ctx) }, "reconcile")
	s.background(func() error { return s.xds.Serve(ctx, ln) }, "xds server")
	mux.Handle("GET /debug/xds", s.xds.StatusHandler())
	s.log.Info("xds server started", "xds", ln.Addr().String())
	return nil
}

// cloudMapOr sends Cloud Map calls (POST with a Route53AutoNaming
// X-Amz-Target) to the registry API and everything else to next.
func cloudMapOr(cloudMap http.Handler, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if registryapi.IsCloudMapRequest(r) {
			cloudMap.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) background(run func() error, name string) {
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		if err := run(); err != nil {
			s.log.Error(name+" stopped", "err", err)
		}
	}()
}

// XDSAddr is the bound xDS address ("" when xDS is disabled).
func (s *Server) XDSAddr() string {
	if s.xdsLn == nil {
		return ""
	}
	return s.xdsLn.Addr().String()
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
	if s.cancel != nil {
		s.log.Info("shutting down: closing xDS streams and the registry")
		s.cancel()
		s.bg.Wait()
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
