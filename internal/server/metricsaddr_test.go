package server_test

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/trellis-mesh/trellis/internal/server"
)

// TestMetricsListener scrapes --metrics-addr, with authentication on, under
// each mode: loopback without a token, and with a bearer token (right,
// wrong, missing, wrong scheme). The API port's /metrics stays SigV4-only.
func TestMetricsListener(t *testing.T) {
	const token = "s3cr3t-scrape-token"
	for _, tc := range []struct {
		name   string
		token  bool
		header string
		want   int
	}{
		{name: "loopback, no token configured", want: http.StatusOK},
		{name: "token, right", token: true, header: "Bearer " + token, want: http.StatusOK},
		{name: "token, scheme case-insensitive", token: true, header: "bearer " + token, want: http.StatusOK},
		{name: "token, missing", token: true, want: http.StatusUnauthorized},
		{name: "token, wrong", token: true, header: "Bearer " + token + "x", want: http.StatusUnauthorized},
		{name: "token, prefix only", token: true, header: "Bearer s3cr3t", want: http.StatusUnauthorized},
		{name: "token, basic scheme", token: true, header: "Basic " + token, want: http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := config(dir)
			cfg.Auth.Enabled = true
			cfg.Metrics.Addr = "127.0.0.1:0"
			if tc.token {
				cfg.Metrics.BearerTokenFile = filepath.Join(dir, "metrics.token")
				if err := os.WriteFile(cfg.Metrics.BearerTokenFile, []byte(token+"\n"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			s, err := server.Start(cfg)
			if err != nil {
				t.Fatalf("Start: %v", err)
			}
			defer s.Stop()
			resp := get(t, "http://"+s.MetricsAddr()+"/metrics", tc.header)
			defer resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.want)
			}
			if tc.want != http.StatusOK {
				if resp.Header.Get("WWW-Authenticate") == "" {
					t.Error("401 without WWW-Authenticate")
				}
				return
			}
			fams, err := parseText(resp)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			for _, name := range []string{"go_goroutines", "trellis_api_connections_open"} {
				if fams[name] == nil {
					t.Errorf("no %s in the scrape", name)
				}
			}
			// The API port still wants a signature for its /metrics.
			api := get(t, "http://"+s.Addr()+"/metrics", tc.header)
			api.Body.Close()
			if api.StatusCode == http.StatusOK {
				t.Errorf("unsigned GET /metrics on the API port: status %d", api.StatusCode)
			}
		})
	}
}

// TestMetricsListenerRefusedCount: refused scrapes are counted, and the
// count is visible to an authorised scrape.
func TestMetricsListenerRefusedCount(t *testing.T) {
	dir := t.TempDir()
	cfg := config(dir)
	cfg.Auth.Enabled = true
	cfg.Metrics = server.MetricsConfig{Addr: "127.0.0.1:0", BearerTokenFile: filepath.Join(dir, "tok")}
	if err := os.WriteFile(cfg.Metrics.BearerTokenFile, []byte("t0ken"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := server.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	url := "http://" + s.MetricsAddr() + "/metrics"
	for range 3 {
		get(t, url, "Bearer nope").Body.Close()
	}
	resp := get(t, url, "Bearer t0ken")
	defer resp.Body.Close()
	fams, err := parseText(resp)
	if err != nil {
		t.Fatal(err)
	}
	f := fams["trellis_metrics_scrapes_refused_total"]
	if f == nil || f.GetMetric()[0].GetCounter().GetValue() != 3 {
		t.Fatalf("trellis_metrics_scrapes_refused_total = %v, want 3", f)
	}
}

// TestMetricsListenerConfig: the start-time refusals.
func TestMetricsListenerConfig(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte(" \n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		m    server.MetricsConfig
		want string
	}{
		{"non-loopback without token", server.MetricsConfig{Addr: "0.0.0.0:0"}, "not a loopback address"},
		{"empty host without token", server.MetricsConfig{Addr: ":0"}, "not a loopback address"},
		{"token without address", server.MetricsConfig{BearerTokenFile: empty}, "needs --metrics-addr"},
		{"pprof without address", server.MetricsConfig{Pprof: true}, "--metrics-pprof needs --metrics-addr"},
		{"empty token", server.MetricsConfig{Addr: "127.0.0.1:0", BearerTokenFile: empty}, "is empty"},
		{"missing token file", server.MetricsConfig{Addr: "127.0.0.1:0", BearerTokenFile: filepath.Join(dir, "nope")}, "read metrics bearer token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config(t.TempDir())
			cfg.Auth.Enabled = true
			cfg.Metrics = tc.m
			s, err := server.Start(cfg)
			if err == nil {
				s.Stop()
				t.Fatal("Start succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q, want it to mention %q", err, tc.want)
			}
		})
	}
}

// get sends GET url with an optional Authorization header.
func get(t *testing.T, url, authorization string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp
}

// parseText parses a scrape with Prometheus's text parser.
func parseText(resp *http.Response) (map[string]*dto.MetricFamily, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	return p.TextToMetricFamilies(resp.Body)
}

// TestMetricsListenerTLS: with an API certificate the metrics listener
// serves TLS with it; the token still applies.
func TestMetricsListenerTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := writeSelfSigned(t, dir)
	tokenFile := filepath.Join(dir, "tok")
	if err := os.WriteFile(tokenFile, []byte("t0ken"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, _ := startAuthServer(t, func(c *server.Config) {
		c.APITLSCert, c.APITLSKey = certFile, keyFile
		c.Metrics = server.MetricsConfig{Addr: "127.0.0.1:0", BearerTokenFile: tokenFile}
	})
	pool := x509.NewCertPool()
	b, _ := os.ReadFile(certFile)
	pool.AppendCertsFromPEM(b)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	for _, tc := range []struct {
		auth string
		want int
	}{{"Bearer t0ken", http.StatusOK}, {"", http.StatusUnauthorized}} {
		req, _ := http.NewRequest(http.MethodGet, "https://"+s.MetricsAddr()+"/metrics", nil)
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if tc.want == http.StatusOK {
			if _, err := parseText(resp); err != nil {
				t.Errorf("parse: %v", err)
			}
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("auth %q: status %d, want %d", tc.auth, resp.StatusCode, tc.want)
		}
	}
	if resp, err := http.Get("http://" + s.MetricsAddr() + "/metrics"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Error("plaintext scrape of a TLS metrics listener succeeded")
		}
	}
}
