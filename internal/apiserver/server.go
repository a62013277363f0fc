package apiserver

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"github.com/trellis-mesh/trellis/internal/apiserver/routes"
	"github.com/trellis-mesh/trellis/internal/manager"
)

// Server serves the App Mesh REST API over a manager.
type Server struct {
	mgr *manager.Manager
	log *slog.Logger
	mux *http.ServeMux
	ops *routes.Table // the operations the mux serves; Operation names them
}

// New returns a Server; it is an http.Handler.
func New(mgr *manager.Manager, log *slog.Logger) *Server {
	if log == nil {
		log = slog.Default()
	}
	s := &Server{mgr: mgr, log: log, mux: http.NewServeMux(), ops: routes.NewTable()}
	s.routes()
	return s
}

// routes registers the 38 operations of the routes table. URIs are App
// Mesh's, including the singular virtualRouter/{name}/routes and
// virtualGateway/{name}/gatewayRoutes. The mux matches escaped paths segment
// by segment, so names containing %2F stay one label.
func (s *Server) routes() {
	for _, r := range s.ops.AppMesh() {
		s.mux.HandleFunc(r.Method+" "+r.Pattern, s.handler(r))
	}
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write([]byte("ok\n"))
	})
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, s.log, classRead, &manager.Error{Code: manager.CodeNotFound,
			Message: "no App Mesh operation matches " + r.Method + " " + r.URL.Path})
	})
}

// handler serves operation r.
func (s *Server) handler(r routes.Route) http.HandlerFunc {
	switch r.Verb {
	case routes.List:
		return s.list(r.Kind)
	case routes.Create:
		return s.create(r.Kind)
	case routes.Describe:
		return s.describe(r.Kind)
	case routes.Update:
		return s.update(r.Kind)
	case routes.Delete:
		return s.delete(r.Kind)
	case routes.ListTags:
		return s.listTags
	case routes.Tag:
		return s.tagResource
	case routes.Untag:
		return s.untagResource
	}
	panic("apiserver: no handler for operation " + r.Name) // a verb added to routes without one here
}

// ServeHTTP adds a request id, recovers panics as InternalServerError and
// logs each request at debug level.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	rw.Header().Set("x-amzn-RequestId", manager.NewUID())
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("panic serving request", "method", r.Method, "path", r.URL.Path, "panic", p)
			writeError(rw, r, s.log, classRead, &manager.Error{Code: manager.CodeInternal, Message: "internal error"})
		}
		s.log.Debug("request", "method", r.Method, "path", r.URL.EscapedPath(), "status", rw.status, "duration", time.Since(start))
	}()
	s.mux.ServeHTTP(rw, r)
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeRaw(w, b)
}

func writeRaw(w http.ResponseWriter, b []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}
