package auth

import (
	"net/http"
	"strings"
)

// CA API paths (internal/ca/enrol; repeated here so auth does not import
// the CA). POST /v1/ca/sign is not classified: the server routes it around
// the middleware and checks it itself (join token, or SigV4 with
// appmesh:StreamAggregatedResources on the node's ARN).
const (
	caBundlePath  = "/v1/ca/bundle"
	caAdminPrefix = "/v1/admin/"
)

// caOperation names the built-in CA's admin and bundle calls as
// trellis:<Name> actions: GetTrustBundle, DescribeCA, RotateCA, ImportCA,
// CreateJoinToken, ListJoinTokens, RevokeJoinToken.
func caOperation(r *http.Request) (Operation, bool) {
	p := r.URL.Path
	var name string
	switch {
	case p == caBundlePath:
		name = "GetTrustBundle"
	case p == caAdminPrefix+"ca" && r.Method == http.MethodGet:
		name = "DescribeCA"
	case p == caAdminPrefix+"ca/rotate":
		name = "RotateCA"
	case p == caAdminPrefix+"ca/import":
		name = "ImportCA"
	case p == caAdminPrefix+"tokens" && r.Method == http.MethodPost:
		name = "CreateJoinToken"
	case p == caAdminPrefix+"tokens":
		name = "ListJoinTokens"
	case strings.HasPrefix(p, caAdminPrefix+"tokens/"):
		name = "RevokeJoinToken"
	default:
		return Operation{}, false
	}
	return op(ServiceTrellis, name, "*", "trellis.amazonaws.com"), true
}
