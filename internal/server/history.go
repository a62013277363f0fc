package server

import (
	"context"
	"net/http"
	"sync"

	"github.com/trellis-mesh/trellis/internal/history"
)

// startHistory runs the resource history recorder and mounts its JSON
// endpoint and its event stream (which the web console follows) on the API
// mux. The recorder stops with ctx; s.bg waits for it. The returned func
// ends every open event stream; the API server calls it on shutdown.
func (s *Server) startHistory(ctx context.Context, mux *http.ServeMux) (stopStreams func()) {
	rec := history.New(s.store, history.Options{Logger: s.log, Registerer: s.metrics})
	s.background(func() error { return rec.Run(ctx) }, "history recorder")
	mux.Handle("GET "+history.HistoryPath, rec.Handler())
	done := make(chan struct{})
	var once sync.Once
	mux.Handle("GET "+history.EventsPath, rec.EventsHandler(history.EventsOptions{Done: done}))
	return func() { once.Do(func() { close(done) }) }
}
