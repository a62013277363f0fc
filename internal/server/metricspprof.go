package server

import (
	"net/http"
	"net/http/pprof"
)

// mountPprof serves Go's runtime profiles (CPU, heap, goroutines, ...)
// under /debug/pprof/ on mux, each wrapped by guard. Only the metrics
// listener mounts them, when MetricsConfig.Pprof is set: that listener is
// loopback-only or bearer-token authenticated, so a profile (which names
// the code and can cost CPU while it runs) is never open beyond loopback.
func mountPprof(mux *http.ServeMux, guard func(http.Handler) http.Handler) {
	mux.Handle("GET /debug/pprof/", guard(http.HandlerFunc(pprof.Index)))
	mux.Handle("GET /debug/pprof/cmdline", guard(http.HandlerFunc(pprof.Cmdline)))
	mux.Handle("GET /debug/pprof/profile", guard(http.HandlerFunc(pprof.Profile)))
	mux.Handle("GET /debug/pprof/symbol", guard(http.HandlerFunc(pprof.Symbol)))
	mux.Handle("GET /debug/pprof/trace", guard(http.HandlerFunc(pprof.Trace)))
}
