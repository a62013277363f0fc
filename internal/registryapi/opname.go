package registryapi

import (
	"net/http"
	"strings"
)

// Operation names the Cloud Map operation r calls (RegisterInstance,
// DiscoverInstances…) when it is one of the routes table's, or ""
// otherwise. The header is untrusted, so only known names come back: they
// are safe as metric labels.
func (a *API) Operation(r *http.Request) string {
	op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), TargetPrefix)
	if !a.names.IsCloudMap(op) || !IsCloudMapRequest(r) {
		return ""
	}
	return op
}
