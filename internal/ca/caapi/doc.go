// Package caapi is the HTTP face of the built-in CA on the API port:
// enrolment (POST /v1/ca/sign), the trust bundle (GET /v1/ca/bundle) and
// the admin API behind `trellis ca` and `trellis token`
// (/v1/admin/ca..., /v1/admin/tokens...). Bodies are the types of
// internal/ca/enrol; errors use the App Mesh envelope (X-Amzn-ErrorType and
// {"message": ...}).
//
// With API authentication off, the admin API and the bundle are served to
// loopback callers only and enrolment requires a join token; with it on,
// the server's middleware guards them (Options.Guard) and enrolment may
// instead be SigV4-signed (Options.Authorize). A sidecar's bundle refresh,
// GET /v1/ca/bundle?spiffeId=<id> (NodeBundleHandler), is authenticated as
// its enrolment is, wherever it comes from.
package caapi
