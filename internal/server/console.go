package server

import (
	"net/http"

	"github.com/trellis-mesh/trellis/internal/console"
)

// mountConsole serves the web console at /ui on the API port, behind
// whatever authenticates that port, like every other route.
func mountConsole(mux *http.ServeMux) {
	h := console.Handler()
	mux.Handle("GET /ui", h)
	mux.Handle("GET "+console.Path, h)
}
