package apiserver

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"github.com/trellis-mesh/trellis/internal/apis/appmesh"
	"github.com/trellis-mesh/trellis/internal/manager"
)

// apiPrefix starts every App Mesh URI.
const apiPrefix = "/v20190125"

// Server serves the App Mesh REST API over a manager.
type Server struct {
	mgr *manager.Manager
	log *slog.Logger
	mux *http.ServeMux
}

// New returns a Server; it is an http.Handler.
func New(mgr *manager.Manager, log *slog.Logger) *Server {
	if log == nil {
		log = slog.Default()
	}
	s := &Server{mgr: mgr, log: log, mux: http.NewServeMux()}
	s.routes()
	return s
}

// routes registers the 38 operations. URIs are App Mesh's, including the
// singular virtualRouter/{name}/routes and virtualGateway/{name}/gatewayRoutes.
// The mux matches escaped paths segment by segment, so names containing
// %2F stay one label.
func (s *Server) routes() {
	for _, kind := range appmesh.Kinds {
		coll, item := collectionPattern(kind), itemPattern(kind)
		s.mux.HandleFunc("PUT "+coll, s.create(kind))
		s.mux.HandleFunc("GET "+coll, s.list(kind))
		s.mux.HandleFunc("GET "+item, s.describe(kind))
		s.mux.HandleFunc("PUT "+item, s.update(kind))
		s.mux.HandleFunc("DELETE "+item, s.delete(kind))
	}
	s.mux.HandleFunc("GET "+apiPrefix+"/tags", s.listTags)
	s.mux.HandleFunc("PUT "+apiPrefix+"/tag", s.tagResource)
	s.mux.HandleFunc("PUT "+apiPrefix+"/untag", s.untagResource)
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write([]byte("ok\n"))
	})
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, s.log, classRead, &manager.Error{Code: manager.CodeNotFound,
			Message: "no App Mesh operation matches " + r.Method + " " + r.URL.Path})
	})
}

// collectionPattern: /v20190125/meshes, /v20190125/meshes/{meshName}/virtualNodes,
// /v20190125/meshes/{meshName}/virtualRouter/{virtualRouterName}/routes.
func collectionPattern(kind appmesh.Kind) string {
	if kind == appmesh.KindMesh {
		return apiPrefix + "/meshes"
	}
	p := apiPrefix + "/meshes/{meshName}/"
	if parent := kind.Parent(); parent != 0 {
		p += parent.ARNSegment() + "/{" + parent.NameKey() + "}/"
	}
	return p + kind.ListKey()
}

func itemPattern(kind appmesh.Kind) string {
	return collectionPattern(kind) + "/{" + kind.NameKey() + "}"
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
