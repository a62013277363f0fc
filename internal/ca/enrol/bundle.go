package enrol

import "time"

// Trust-bundle refresh by sidecars (docs/identity.md, "Rotation"): every
// sidecar polls BundlePath every BundleRefreshInterval, lengthened or
// shortened by up to BundleRefreshJitter of it, and pushes a changed
// bundle to Envoy at once. The CA counts on it: a new root signs only
// after it has been in the bundle for longer than the longest poll gap
// plus BundleRefreshMargin.
const (
	BundleRefreshInterval = 30 * time.Second
	BundleRefreshJitter   = 0.2
	BundleRefreshMargin   = 30 * time.Second
)

// BundleTokenHeader carries the join token on GET BundlePath (a GET has
// no body); BundleIDParam names the SPIFFE id the caller enrolled as. With
// the id, the bundle is served to the callers allowed to enrol as it
// (join token, or SigV4 with appmesh:StreamAggregatedResources on the
// node's ARN).
const (
	BundleTokenHeader = "X-Trellis-Join-Token"
	BundleIDParam     = "spiffeId"
)

// BundleLead is how long a new root must be in the trust bundle before it
// signs, for sidecars polling every refresh (BundleRefreshInterval if 0)
// and renewing at half of ttl: the longest poll gap plus the margin, and
// no less than half an SVID lifetime.
func BundleLead(refresh, ttl time.Duration) time.Duration {
	if refresh <= 0 {
		refresh = BundleRefreshInterval
	}
	gap := refresh + time.Duration(float64(refresh)*BundleRefreshJitter)
	return max(gap+BundleRefreshMargin, ttl/2)
}
