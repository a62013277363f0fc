package caapi

import (
	"net/http"

	"github.com/trellis-mesh/trellis/internal/ca"
	"github.com/trellis-mesh/trellis/internal/ca/enrol"
)

// NodeBundleHandler is GET /v1/ca/bundle?spiffeId=<id> on its own: the
// trust bundle for a sidecar's periodic refresh, authenticated as its
// enrolment is (a join token in enrol.BundleTokenHeader, checked but not
// consumed; else the Authorizer, e.g. SigV4 with
// appmesh:StreamAggregatedResources on the node's ARN). A server routes
// it around its authentication middleware, as SignHandler.
func NodeBundleHandler(c *ca.CA, opts Options) http.Handler {
	h := newHandlers(c, opts)
	return http.HandlerFunc(h.nodeBundle)
}

// IsNodeBundle reports whether r is a sidecar's bundle refresh (GET
// BundlePath naming the caller's SPIFFE id) rather than an admin read.
func IsNodeBundle(r *http.Request) bool {
	return r.Method == http.MethodGet && r.URL.Path == enrol.BundlePath && r.URL.Query().Has(enrol.BundleIDParam)
}

func (h *handlers) nodeBundle(w http.ResponseWriter, r *http.Request) {
	id, err := enrol.ParseID(r.URL.Query().Get(enrol.BundleIDParam))
	if err != nil || id.TrustDomain != h.ca.TrustDomain() {
		writeError(w, errBadRequest, enrol.BundleIDParam+" is not a SPIFFE id of trust domain "+h.ca.TrustDomain())
		return
	}
	if msg, ok := h.authenticateAs(r, nil, r.Header.Get(enrol.BundleTokenHeader), id, h.ca.CheckToken); !ok {
		h.log.Warn("ca: bundle refused", "spiffeId", id.String(), "peer", r.RemoteAddr, "reason", msg)
		writeError(w, errForbidden, msg)
		return
	}
	h.bundle(w, r)
}

// bundleRoute serves a sidecar's refresh (IsNodeBundle) itself and any
// other bundle read through guarded.
func (h *handlers) bundleRoute(guarded http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if IsNodeBundle(r) {
			h.nodeBundle(w, r)
			return
		}
		guarded.ServeHTTP(w, r)
	})
}
