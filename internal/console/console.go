package console

import (
	"embed"
	"io/fs"
	"net/http"
)

// Path is where the server mounts Handler on its API port.
const Path = "/ui/"

//go:embed assets
var assets embed.FS

// Handler serves the console's assets under Path, and redirects the bare
// /ui to it. Files are served with no-cache so an upgraded server's console
// is picked up on reload.
func Handler() http.Handler {
	sub, err := fs.Sub(assets, "assets")
	if err != nil {
		panic("console: embedded assets missing: " + err.Error()) // a build defect
	}
	files := http.StripPrefix(Path, http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ui" {
			http.Redirect(w, r, Path, http.StatusMovedPermanently)
			return
		}
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'self'; img-src 'self' data:")
		files.ServeHTTP(w, r)
	})
}
