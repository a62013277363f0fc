package server_test

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/trellis-mesh/trellis/internal/server"
)

// TestMetricsPprof: /debug/pprof/ is on the metrics listener only with
// Pprof set, and behind the listener's bearer token.
func TestMetricsPprof(t *testing.T) {
	const token = "pr0f-token"
	for _, tc := range []struct {
		name   string
		pprof  bool
		token  bool
		header string
		want   int
	}{
		{name: "off", want: http.StatusNotFound},
		{name: "on, loopback", pprof: true, want: http.StatusOK},
		{name: "on, token right", pprof: true, token: true, header: "Bearer " + token, want: http.StatusOK},
		{name: "on, token missing", pprof: true, token: true, want: http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := config(dir)
			cfg.Auth.Enabled = true
			cfg.Metrics.Addr = "127.0.0.1:0"
			cfg.Metrics.Pprof = tc.pprof
			if tc.token {
				cfg.Metrics.BearerTokenFile = filepath.Join(dir, "metrics.token")
				if err := os.WriteFile(cfg.Metrics.BearerTokenFile, []byte(token), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			s, err := server.Start(cfg)
			if err != nil {
				t.Fatalf("Start: %v", err)
			}
			defer s.Stop()
			for _, path := range []string{"/debug/pprof/", "/debug/pprof/goroutine?debug=1"} {
				resp := get(t, "http://"+s.MetricsAddr()+path, tc.header)
				resp.Body.Close()
				if resp.StatusCode != tc.want {
					t.Errorf("GET %s: status %d, want %d", path, resp.StatusCode, tc.want)
				}
			}
		})
	}
}
