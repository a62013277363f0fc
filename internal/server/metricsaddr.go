package server

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// MetricsConfig is the optional second listener that serves only
// GET /metrics, for scrapers that cannot SigV4-sign (Prometheus). The API
// port's own /metrics stays behind the API's authentication.
type MetricsConfig struct {
	// Addr is the listen address (host:port); empty means no listener.
	// A non-loopback address needs BearerTokenFile: anything reachable
	// beyond loopback is authenticated.
	Addr string
	// BearerTokenFile holds the token scrapers must send as
	// "Authorization: Bearer <token>" (surrounding whitespace ignored;
	// read once at start). Empty means no token, allowed on loopback only.
	BearerTokenFile string
	// Pprof also serves Go's profiles under /debug/pprof/ on this
	// listener, behind the same bearer token (metricspprof.go).
	Pprof bool
}

// metricsListener is the bound metrics listener and what serves it.
type metricsListener struct {
	ln   net.Listener
	srv  *http.Server
	done chan error // the Serve goroutine's result; Stop waits for it
}

// listenMetrics checks cfg.Metrics, loads the token and binds the
// listener; nil when no address is configured. The listener serves TLS with
// the API's certificate when tlsCfg is not nil.
func listenMetrics(cfg Config, reg *prometheus.Registry, tlsCfg *tls.Config) (*metricsListener, error) {
	m := cfg.Metrics
	if m.Addr == "" {
		if m.BearerTokenFile != "" {
			return nil, errors.New("--metrics-bearer-token-file needs --metrics-addr")
		}
		if m.Pprof {
			return nil, errors.New("--metrics-pprof needs --metrics-addr")
		}
		return nil, nil
	}
	if m.BearerTokenFile == "" && !isLoopback(m.Addr) {
		return nil, fmt.Errorf("metrics address %s is not a loopback address: set --metrics-bearer-token-file so that scrapes are authenticated", m.Addr)
	}
	var token []byte
	if m.BearerTokenFile != "" {
		t, err := readBearerToken(m.BearerTokenFile)
		if err != nil {
			return nil, err
		}
		token = t
	}
	refused := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "trellis_metrics_scrapes_refused_total",
		Help: "Requests to --metrics-addr refused for a missing or wrong bearer token."})
	if err := reg.Register(refused); err != nil {
		return nil, fmt.Errorf("register metrics listener metrics: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", requireBearer(token, refused, metricsHandler(reg)))
	if m.Pprof {
		mountPprof(mux, func(h http.Handler) http.Handler { return requireBearer(token, refused, h) })
	}
	ln, err := net.Listen("tcp", m.Addr)
	if err != nil {
		return nil, fmt.Errorf("listen on metrics address %s: %w", m.Addr, err)
	}
	if tlsCfg != nil {
		ln = tls.NewListener(ln, tlsCfg.Clone())
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn)}
	return &metricsListener{ln: ln, srv: srv, done: make(chan error, 1)}, nil
}

// readBearerToken reads a token file; an empty token is refused.
func readBearerToken(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read metrics bearer token: %w", err)
	}
	t := strings.TrimSpace(string(b))
	if t == "" {
		return nil, fmt.Errorf("metrics bearer token file %s is empty", path)
	}
	return []byte(t), nil
}

// requireBearer passes requests carrying "Authorization: Bearer <token>";
// nil token passes everything. The comparison is of SHA-256 digests in
// constant time, so neither the token's bytes nor its length leak through
// timing.
func requireBearer(token []byte, refused prometheus.Counter, next http.Handler) http.Handler {
	if token == nil {
		return next
	}
	want := sha256.Sum256(token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := bearer(r.Header.Get("Authorization"))
		gotSum := sha256.Sum256([]byte(got))
		if subtle.ConstantTimeCompare(gotSum[:], want[:]) != 1 || !ok {
			refused.Inc()
			w.Header().Set("WWW-Authenticate", `Bearer realm="trellis metrics"`)
			http.Error(w, "a valid bearer token is required", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// bearer extracts the credentials of a Bearer Authorization header (the
// scheme is case-insensitive, RFC 9110).
func bearer(h string) (string, bool) {
	scheme, cred, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	return strings.TrimSpace(cred), true
}

// serve runs the listener until shutdown.
func (m *metricsListener) serve() { m.done <- m.srv.Serve(m.ln) }

// shutdown stops the listener and waits for its Serve goroutine.
func (m *metricsListener) shutdown(ctx context.Context) error {
	err := m.srv.Shutdown(ctx)
	if serr := <-m.done; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	if err != nil {
		return fmt.Errorf("metrics listener: %w", err)
	}
	return nil
}

// MetricsAddr is the bound --metrics-addr listener address, "" when there
// is none.
func (s *Server) MetricsAddr() string { return s.metricsLn.addr() }

// addr is the bound metrics listener address, "" when there is none.
func (m *metricsListener) addr() string {
	if m == nil {
		return ""
	}
	return m.ln.Addr().String()
}

// serveMetrics starts the metrics listener's Serve goroutine (stopMetrics
// waits for it).
func (s *Server) serveMetrics() {
	if s.metricsLn == nil {
		return
	}
	go s.metricsLn.serve()
	s.log.Info("metrics listener started", "metrics", s.metricsLn.addr(),
		"bearer_token", s.cfg.Metrics.BearerTokenFile != "")
}

// stopMetrics shuts the metrics listener down, if there is one.
func (s *Server) stopMetrics(ctx context.Context) error {
	if s.metricsLn == nil {
		return nil
	}
	return s.metricsLn.shutdown(ctx)
}

// closeMetricsListener releases a bound metrics listener that never served
// (Start failed after binding it).
func (s *Server) closeMetricsListener() {
	if s.metricsLn != nil {
		s.metricsLn.ln.Close()
	}
}
