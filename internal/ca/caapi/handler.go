package caapi

import (
	"errors"
	"log/slog"
	"net"
	"net/http"

	"github.com/trellis-mesh/trellis/internal/ca"
	"github.com/trellis-mesh/trellis/internal/ca/enrol"
)

// Authorizer decides whether a request (SigV4-signed, when API
// authentication is on) may hold id; body is the request body as read. It
// returns ErrNoCredentials when the request carries no credentials.
type Authorizer func(r *http.Request, body []byte, id enrol.ID) error

// ErrNoCredentials is returned by an Authorizer for a request it cannot
// authenticate at all.
var ErrNoCredentials = errors.New("no credentials")

// Options configures the handlers.
type Options struct {
	Logger *slog.Logger
	// Authorize, when set, authorises enrolment requests without a join
	// token. Nil: a join token is required.
	Authorize Authorizer
	// Guard, when set, wraps the admin API and the bundle. With API
	// authentication on, the middleware already covers them and Guard is
	// the identity. Nil: they are served to loopback callers only.
	Guard func(http.Handler) http.Handler
}

// SignHandler is POST /v1/ca/sign on its own, for a server that must
// route enrolment around its authentication middleware (a join token is
// a credential the middleware does not know).
func SignHandler(c *ca.CA, opts Options) http.Handler {
	h := newHandlers(c, opts)
	return http.HandlerFunc(h.sign)
}

func newHandlers(c *ca.CA, opts Options) *handlers {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &handlers{ca: c, log: opts.Logger, authorize: opts.Authorize}
}

// Mount registers the CA routes on mux.
func Mount(mux *http.ServeMux, c *ca.CA, opts Options) {
	guard := opts.Guard
	if guard == nil {
		guard = LoopbackOnly
	}
	h := newHandlers(c, opts)
	mux.Handle("POST "+enrol.SignPath, http.HandlerFunc(h.sign))
	mux.Handle("GET "+enrol.BundlePath, h.bundleRoute(guard(http.HandlerFunc(h.bundle))))
	mux.Handle("GET "+enrol.AdminCAPath, guard(http.HandlerFunc(h.show)))
	mux.Handle("POST "+enrol.AdminRotatePath, guard(http.HandlerFunc(h.rotate)))
	mux.Handle("POST "+enrol.AdminImportPath, guard(http.HandlerFunc(h.importCA)))
	mux.Handle("POST "+enrol.AdminTokensPath, guard(http.HandlerFunc(h.createToken)))
	mux.Handle("GET "+enrol.AdminTokensPath, guard(http.HandlerFunc(h.listTokens)))
	mux.Handle("DELETE "+enrol.AdminTokensPath+"/{id}", guard(http.HandlerFunc(h.revokeToken)))
}

type handlers struct {
	ca        *ca.CA
	log       *slog.Logger
	authorize Authorizer
}

// LoopbackOnly serves next only to callers whose peer address is a
// loopback address; others get ForbiddenException. It stands in for API
// authentication on endpoints that must not be open to the network.
func LoopbackOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !IsLoopback(r.RemoteAddr) {
			writeError(w, errForbidden, "this endpoint is served to loopback callers only until API authentication is enabled")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// IsLoopback reports whether a host:port address is a loopback IP.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
