package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/credentials"

	"github.com/trellis-mesh/trellis/internal/acm"
	"github.com/trellis-mesh/trellis/internal/apiserver"
	"github.com/trellis-mesh/trellis/internal/auth"
	"github.com/trellis-mesh/trellis/internal/auth/audit"
	"github.com/trellis-mesh/trellis/internal/backup"
	"github.com/trellis-mesh/trellis/internal/ca"
	"github.com/trellis-mesh/trellis/internal/manager"
	"github.com/trellis-mesh/trellis/internal/meshview"
	"github.com/trellis-mesh/trellis/internal/reconcile"
	"github.com/trellis-mesh/trellis/internal/registry"
	"github.com/trellis-mesh/trellis/internal/registryapi"
	"github.com/trellis-mesh/trellis/internal/store"
	"github.com/trellis-mesh/trellis/internal/telemetry"
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
	XDSAddr string
	// XDSTLSCert and XDSTLSKey are PEM files; when both are set the TCP xDS
	// listener serves gRPC over TLS (what the stock App Mesh Envoy image
	// expects of a host:port APPMESH_XDS_ENDPOINT) instead of plaintext.
	XDSTLSCert string
	XDSTLSKey  string
	// XDSUnixSocket, when set, is the path of an additional plaintext xDS
	// listener (APPMESH_XDS_ENDPOINT=unix:///path). A stale socket file is
	// replaced at start and removed on stop; the socket gets mode 0660.
	XDSUnixSocket string
	Region        string
	AccountID     string
	Limits        manager.Limits
	Logger        *slog.Logger
	// ShutdownTimeout bounds how long in-flight requests may run on stop.
	ShutdownTimeout time.Duration
	// RegistryTTL caps the lease of a service instance registered with
	// the trellis.io/ttl attribute (the sidecar's registrations): how long
	// it lives without a heartbeat; 0 means registry.DefaultTTL (30 s).
	// Instances registered without the attribute never expire.
	RegistryTTL time.Duration
	// Auth is API authentication (see AuthConfig; zero value: off).
	Auth AuthConfig
	// APITLSCert and APITLSKey are PEM files; when both are set the API
	// port serves HTTPS (HTTP/2 and HTTP/1.1).
	APITLSCert string
	APITLSKey  string
	// APILimits bound slow and idle clients and open connections on the
	// API port; zero fields take apiserver's defaults.
	APILimits apiserver.ConnLimits
	// Store selects the backend: the bbolt file under DataDir (default)
	// or etcd, shared by several replicas (storeconfig.go).
	Store StoreConfig
	// CA configures the built-in CA and authenticated xDS (ca.go).
	CA CAConfig
	// Metrics is the optional scrape-only listener (metricsaddr.go).
	Metrics MetricsConfig
	// XDSLimits bound the streams of every xDS listener; zero fields take
	// xdsserver's defaults. FirstRequestTimeout also bounds a metrics
	// stream's first message.
	XDSLimits xdsserver.Limits
}

// Server is a running Trellis control plane.
type Server struct {
	// metrics is the server's Prometheus registry, served at GET /metrics
	// (metrics.go).
	metrics *prometheus.Registry
	// telemetry keeps the proxies' golden signals (telemetry.go).
	telemetry *telemetry.Telemetry

	cfg   Config
	log   *slog.Logger
	store store.Store
	api   *http.Server
	ln    net.Listener
	// collectors are the API side's Prometheus metrics (see Collectors).
	collectors []prometheus.Collector
	done       chan error

	// The xDS side: the view follows the store, the reconciler translates,
	// the xDS server serves. They stop with cancel; bg counts them.
	xds *xdsserver.Server
	ca  *ca.CA
	// acmStore is the ACM stand-in's records (acm.go).
	acmStore *acm.Store
	// authMW is the API auth middleware (nil when auth is off); the CA's
	// enrolment endpoint checks SigV4 with it (ca.go).
	authMW  *auth.Middleware
	xdsLn   net.Listener
	xdsUnix net.Listener
	cancel  context.CancelFunc
	bg      sync.WaitGroup
	// failed gets the first stage that died; stopping is set by Stop
	// (stages.go).
	failed   chan error
	stopping atomic.Bool
	ready    *readiness // GET /readyz (ready.go)

	keys      *auth.Keys // nil when auth is off
	adminFile string
	auditLog  *audit.Log // nil unless Start opened it; closed by Stop
	mirror    *auth.Mirror
	metricsLn *metricsListener // nil without --metrics-addr
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
	metrics := newMetricsRegistry()
	if cfg.Store.Registerer == nil {
		cfg.Store.Registerer = metrics
	}
	if err := checkBind(cfg); err != nil {
		return nil, err
	}
	tlsCfg, err := apiTLS(cfg.APITLSCert, cfg.APITLSKey)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	st, elector, storeDesc, err := openStore(cfg)
	if err != nil {
		return nil, err
	}
	mgr := manager.New(st, manager.Options{Region: cfg.Region, AccountID: cfg.AccountID, Limits: cfg.Limits, Logger: cfg.Logger})
	ln, err := net.Listen("tcp", cfg.APIAddr)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("listen on api address %s: %w", cfg.APIAddr, err)
	}
	s := &Server{cfg: cfg, log: cfg.Logger, store: st, ln: ln, done: make(chan error, 1),
		failed: make(chan error, 1), metrics: metrics, ready: &readiness{st: st, el: elector}}
	if s.metricsLn, err = listenMetrics(cfg, s.metrics, tlsCfg); err != nil {
		ln.Close()
		st.Close()
		return nil, err
	}
	mux := http.NewServeMux()
	appMesh := apiserver.New(mgr, cfg.Logger)
	mux.Handle("/", appMesh)
	mux.Handle("GET /metrics", metricsHandler(s.metrics))
	s.newTelemetry(mux)
	mux.Handle("GET "+backup.Path, backup.Handler(st, cfg.Logger))
	handler, err := s.withAuth(mux, mgr)
	if err != nil {
		s.closeMetricsListener()
		ln.Close()
		st.Close()
		if s.auditLog != nil {
			s.auditLog.Close()
		}
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.background(func() error { return elector.Run(ctx) }, "election")
	reg := registry.New(st, registry.Options{TTL: cfg.RegistryTTL, Logger: cfg.Logger, IsLeader: elector.IsLeader})
	s.background(func() error { return reg.Run(ctx) }, "registry")
	stopStreams := s.startHistory(ctx, mux)
	mountConsole(mux)
	if s.mirror != nil {
		s.background(func() error { return s.mirror.Run(ctx) }, "auth mirror")
	}
	regAPI := registryapi.New(reg, registryapi.Options{Region: cfg.Region, AccountID: cfg.AccountID, Logger: cfg.Logger})
	secrets, err := s.startACM(ctx, mux)
	if err == nil {
		err = s.startCA(ctx, mux)
	}
	if err == nil {
		s.startACMRequests(ctx, mux)
		err = s.startXDS(ctx, mux, reg, secrets)
	}
	if err != nil {
		cancel()
		s.bg.Wait()
		s.closeMetricsListener()
		ln.Close()
		st.Close()
		if s.auditLog != nil {
			s.auditLog.Close()
		}
		return nil, err
	}
	s.api = &http.Server{
		Handler:   s.withReadyz(readSessions(cfg, newAPIMetrics(s.metrics, appMesh, regAPI).instrument(s.enrolOr(handler(cloudMapOr(regAPI, mux)))))),
		TLSConfig: tlsCfg,
		ErrorLog:  slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn),
	}
	s.api.RegisterOnShutdown(stopStreams)
	limiter := apiserver.NewConnLimiter(cfg.APILimits, cfg.Logger)
	limiter.Configure(s.api)
	s.collectors = append(limiter.Collectors(), regAPI.Collectors()...)
	s.metrics.MustRegister(s.collectors...)
	go func() { s.done <- s.serveAPI(limiter.Listener(ln)) }()
	s.serveMetrics()
	s.log.Info("trellis server started", "api", ln.Addr().String(), "store", storeDesc,
		"region", cfg.Region, "account", cfg.AccountID, "auth", cfg.Auth.Enabled, "tls", tlsCfg != nil)
	return s, nil
}

// startXDS starts the translation pipeline and the ADS server on the TCP
// listener (TLS when a certificate is configured) and the optional Unix
// socket, and mounts the xDS status page on the API mux.
func (s *Server) startXDS(ctx context.Context, mux *http.ServeMux, reg *registry.Registry, secrets *acm.Secrets) error {
	if s.cfg.XDSAddr == "" && s.cfg.XDSUnixSocket == "" {
		return nil
	}
	if err := s.checkXDSExposure(); err != nil {
		return err
	}
	var creds credentials.TransportCredentials
	var auth xdsserver.AuthOptions
	var err error
	if s.cfg.CA.XDSMTLS {
		creds, auth, err = s.xdsMTLS()
	} else {
		creds, err = xdsCredentials(s.cfg.XDSTLSCert, s.cfg.XDSTLSKey)
	}
	if err != nil {
		return err
	}
	if s.cfg.XDSAddr != "" {
		ln, err := net.Listen("tcp", s.cfg.XDSAddr)
		if err != nil {
			return fmt.Errorf("listen on xds address %s: %w", s.cfg.XDSAddr, err)
		}
		s.xdsLn = ln
	}
	if s.cfg.XDSUnixSocket != "" {
		ln, err := listenUnix(s.cfg.XDSUnixSocket)
		if err != nil {
			if s.xdsLn != nil {
				s.xdsLn.Close()
			}
			return err
		}
		s.xdsUnix = ln
	}
	s.xds = xdsserver.New(s.xdsOptions())
	view := meshview.New(s.store, s.log)
	s.ready.view = view
	rec := reconcile.New(view, s.xds, reconcile.Options{Logger: s.log, Endpoints: reg, EndpointChanges: reg, Secrets: secrets})
	s.background(func() error { return view.Run(ctx) }, "meshview")
	s.background(func() error { return rec.Run(ctx) }, "reconcile")
	// Serve may run once per listener: the streams of both share the one
	// snapshot cache and status table.
	if ln := s.xdsLn; ln != nil {
		if auth.Authenticate != nil {
			s.background(func() error { return s.xds.ServeAuthenticated(ctx, ln, creds, auth) }, "xds server")
		} else if creds != nil {
			s.background(func() error { return s.xds.ServeTLS(ctx, ln, creds) }, "xds server")
		} else {
			s.background(func() error { return s.xds.Serve(ctx, ln) }, "xds server")
		}
		s.log.Info("xds server started", "xds", ln.Addr().String(), "tls", creds != nil, "mtls", auth.Authenticate != nil)
	}
	if ln := s.xdsUnix; ln != nil {
		path := s.cfg.XDSUnixSocket
		s.background(func() error {
			defer s.removeSocket(path)
			return s.xds.Serve(ctx, ln)
		}, "xds unix socket server")
		s.log.Info("xds server started", "xds", "unix://"+path)
	}
	// Node ids, peers and NACK text: behind the auth middleware when auth
	// is on, else loopback only.
	mux.Handle("GET /debug/xds", s.guard()(s.xds.StatusHandler()))
	s.mountProxies(mux)
	return nil
}

// xdsCredentials loads the xDS server certificate; nil means plaintext.
func xdsCredentials(certFile, keyFile string) (credentials.TransportCredentials, error) {
	if certFile == "" && keyFile == "" {
		return nil, nil
	}
	if certFile == "" || keyFile == "" {
		return nil, errors.New("xds tls needs both a certificate and a key (--xds-tls-cert, --xds-tls-key)")
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("load xds tls certificate: %w", err)
	}
	// credentials.NewTLS adds the h2 ALPN protocol gRPC clients require.
	return credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}), nil
}

// listenUnix listens on a Unix socket at path with mode 0660, replacing a
// stale socket left by an earlier run. Anything at path that is not a
// socket is left alone and reported.
func listenUnix(path string) (net.Listener, error) {
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("xds unix socket %s: exists and is not a socket", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("remove stale xds unix socket: %w", err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("xds unix socket %s: %w", path, err)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("listen on xds unix socket %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o660); err != nil {
		ln.Close()
		return nil, fmt.Errorf("chmod xds unix socket: %w", err)
	}
	return ln, nil
}

// removeSocket removes the socket file on stop (the listener's own unlink
// may already have done so).
func (s *Server) removeSocket(path string) {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		s.log.Warn("remove xds unix socket", "path", path, "err", err)
	}
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

// XDSAddr is the bound xDS address ("" when xDS is disabled).
func (s *Server) XDSAddr() string {
	if s.xdsLn == nil {
		return ""
	}
	return s.xdsLn.Addr().String()
}

// XDSUnixSocket is the path of the xDS Unix socket ("" when none).
func (s *Server) XDSUnixSocket() string {
	if s.xdsUnix == nil {
		return ""
	}
	return s.cfg.XDSUnixSocket
}

// Collectors are the Prometheus metrics of the API port: connection
// limits and timeouts (apiserver.ConnLimiter) and the Cloud Map
// operation log (registryapi). Register them on the registry that serves
// /metrics.
func (s *Server) Collectors() []prometheus.Collector { return s.collectors }

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
	errAPI = errors.Join(errAPI, s.stopMetrics(ctx))
	s.stopping.Store(true)
	if s.cancel != nil {
		s.log.Info("shutting down: closing xDS streams and the registry")
		s.cancel()
		s.bg.Wait()
		s.telemetry.Wait()
	}
	errStore := s.store.Close()
	if errStore != nil {
		errStore = fmt.Errorf("close store: %w", errStore)
	}
	if s.auditLog != nil {
		errStore = errors.Join(errStore, s.auditLog.Close())
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
	case err := <-s.failed:
		return errors.Join(err, s.Stop())
	}
	return s.Stop()
}
