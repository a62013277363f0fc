package server

import (
	"net/http"

	"google.golang.org/grpc"

	"github.com/trellis-mesh/trellis/internal/telemetry"
	"github.com/trellis-mesh/trellis/internal/xdsserver"
)

// newTelemetry creates the golden-signal store, its collector on the
// server's registry, and mounts its JSON on the API mux. Its
// MetricsService is registered on the xDS gRPC servers (startXDS), and
// Stop waits for its stream loops after those servers stopped.
func (s *Server) newTelemetry(mux *http.ServeMux) {
	// Metrics streams count against the xDS server's stream cap, so the
	// receiver admits as many: one flag sizes both for the fleet.
	maxStreams := s.cfg.XDSLimits.MaxStreams
	if maxStreams <= 0 {
		maxStreams = xdsserver.DefaultMaxStreams
	}
	s.telemetry = telemetry.New(telemetry.Options{Logger: s.log, Registerer: s.metrics,
		MaxStreams: maxStreams, FirstMessageTimeout: s.cfg.XDSLimits.FirstRequestTimeout})
	h := s.telemetry.Handler()
	mux.Handle("GET /v1/telemetry/signals", h)
	mux.Handle("GET /v1/telemetry/edges", h)
	mux.Handle("GET /v1/telemetry/services", h)
}

// xdsOptions configures the xDS server: its metrics on the server's
// registry, its stream limits (Config.XDSLimits), and the telemetry
// MetricsService (with its codec) on each of its gRPC servers.
func (s *Server) xdsOptions() xdsserver.Options {
	return xdsserver.Options{Logger: s.log, Registerer: s.metrics, Limits: s.cfg.XDSLimits,
		Services: s.telemetry.RegisterService, ServerOptions: []grpc.ServerOption{s.telemetry.ServerOption()}}
}

// mountProxies serves the per-proxy config status at GET /v1/proxies. It
// shows node ids, peers and NACK text like /debug/xds, so it is guarded
// the same way: behind the auth middleware when auth is on, else loopback
// only.
func (s *Server) mountProxies(mux *http.ServeMux) {
	mux.Handle("GET /v1/proxies", s.guard()(s.xds.ProxiesHandler()))
}
