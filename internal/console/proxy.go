package console

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
)

// ProxyOptions configure Proxy.
type ProxyOptions struct {
	// Endpoint is the Trellis API (http(s)://host:port).
	Endpoint *url.URL
	// Sign signs each forwarded request (SigV4 with the operator's
	// credentials) before it leaves; nil forwards requests unsigned, which
	// a server with authentication off accepts.
	Sign func(*http.Request) error
	// Transport carries forwarded requests; nil is http.DefaultTransport.
	Transport http.RoundTripper
	Logger    *slog.Logger
}

// Proxy is the handler of `trellis console`: it serves the console's
// assets locally and forwards the console's read calls (GET and HEAD on
// the console's read APIs only) to the server, signed with the operator's
// credentials, as `kubectl proxy` does. The browser never holds a secret,
// and the server needs no cookie or session machinery: every call it sees
// is an ordinary signed request of the operator's principal, authorized by
// the same policies as the aws CLI.
//
// Because any web page the operator visits can make the browser send
// requests to a local port, the proxy forwards no write method, and
// answers only requests whose Host is a loopback name (a page that rebinds
// its DNS name to 127.0.0.1 still sends its own Host).
func Proxy(o ProxyOptions) http.Handler {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Transport == nil {
		o.Transport = http.DefaultTransport
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(o.Endpoint)
			pr.Out.Host = o.Endpoint.Host
			pr.Out.Header.Del("Cookie")
			pr.Out.Header.Del("Authorization")
			pr.Out.Header.Del("Origin")
			pr.Out.Header.Del("Referer")
		},
		Transport:     signingTransport{next: o.Transport, sign: o.Sign},
		FlushInterval: -1, // the event stream must not be buffered
		ErrorLog:      slog.NewLogLogger(o.Logger.Handler(), slog.LevelWarn),
	}
	assets := Handler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !loopbackHost(r.Host) {
			http.Error(w, "the console proxy answers only on a loopback host name", http.StatusForbidden)
			return
		}
		switch {
		case r.URL.Path == "/":
			http.Redirect(w, r, Path, http.StatusFound)
		case r.URL.Path == "/ui" || strings.HasPrefix(r.URL.Path, Path):
			assets.ServeHTTP(w, r)
		case !proxied(r.URL.Path):
			http.NotFound(w, r)
		case r.Method != http.MethodGet && r.Method != http.MethodHead:
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "the console is read-only", http.StatusMethodNotAllowed)
		default:
			rp.ServeHTTP(w, r)
		}
	})
}

// proxied reports whether path is one of the read APIs the console calls;
// nothing else is forwarded.
func proxied(path string) bool {
	for _, p := range [...]string{"/v20190125/", "/trellis/v1/", "/v1/telemetry/", "/v1/proxies"} {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}

// loopbackHost reports whether a Host header names this machine's loopback.
func loopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// signingTransport signs each request just before it is sent.
type signingTransport struct {
	next http.RoundTripper
	sign func(*http.Request) error
}

func (t signingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if t.sign != nil {
		if err := t.sign(r); err != nil {
			return nil, fmt.Errorf("console proxy: sign: %w", err)
		}
	}
	return t.next.RoundTrip(r)
}
