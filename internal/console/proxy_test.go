package console

import (
	"bufio"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// TestProxy: read calls are forwarded signed; writes, other paths and
// non-loopback Host names are refused; assets are served locally; the
// event stream is not buffered.
func TestProxy(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/trellis/v1/events" {
			w.Header().Set("Content-Type", "text/event-stream")
			io.WriteString(w, "event: revision\ndata: {}\n\n")
			w.(http.Flusher).Flush()
			<-r.Context().Done()
			return
		}
		io.WriteString(w, r.Method+" "+r.URL.RequestURI()+" auth="+r.Header.Get("Authorization")+" cookie="+r.Header.Get("Cookie"))
	}))
	defer backend.Close()
	u, _ := url.Parse(backend.URL)
	sign := func(r *http.Request) error { r.Header.Set("Authorization", "AWS4-HMAC-SHA256 test"); return nil }
	proxy := httptest.NewServer(Proxy(ProxyOptions{Endpoint: u, Sign: sign}))
	defer proxy.Close()

	tests := []struct {
		name, method, path, host string
		code                     int
		body                     string
	}{
		{"list meshes", "GET", "/v20190125/meshes?limit=5", "", 200, "GET /v20190125/meshes?limit=5 auth=AWS4-HMAC-SHA256 test cookie="},
		{"proxy status", "GET", "/v1/proxies?mesh=m", "", 200, "GET /v1/proxies?mesh=m auth=AWS4-HMAC-SHA256 test"},
		{"debug not proxied", "GET", "/debug/xds", "", 404, ""},
		{"write refused", "PUT", "/v20190125/meshes", "", 405, "read-only"},
		{"delete refused", "DELETE", "/v20190125/meshes/m", "", 405, "read-only"},
		{"other path", "GET", "/admin/backup", "", 404, ""},
		{"assets", "GET", "/ui/", "", 200, `<svg id="graph"`},
		{"rebinding host", "GET", "/v20190125/meshes", "evil.example:9090", 403, "loopback"},
		{"localhost", "GET", "/v20190125/meshes", "localhost:9090", 200, "auth=AWS4"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, proxy.URL+tc.path, nil)
			req.Header.Set("Cookie", "session=secret")
			if tc.host != "" {
				req.Host = tc.host
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.code || !strings.Contains(string(b), tc.body) {
				t.Fatalf("%d %q, want %d containing %q", resp.StatusCode, b, tc.code, tc.body)
			}
		})
	}
	t.Run("event stream", func(t *testing.T) {
		resp, err := http.Get(proxy.URL + "/trellis/v1/events")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		line, err := bufio.NewReader(resp.Body).ReadString('\n')
		if err != nil || line != "event: revision\n" {
			t.Fatalf("first line %q, %v", line, err)
		}
	})
}
