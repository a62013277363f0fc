// Package svid is the sidecar's workload identity (issue 13, sidecar side):
// it enrols with the control plane's CA (a private ECDSA key made here and
// never sent anywhere, a CSR for the proxy's SPIFFE id, POST /v1/ca/sign),
// renews the certificate at half its lifetime, and serves it to the local
// Envoy over SDS on a Unix socket, as the SPIRE agent did for App Mesh:
// the SVID under its SPIFFE id and under "default", the trust bundle under
// the trust domain name and under spiffe://<trust-domain>. Every renewal
// is pushed to Envoy at once. Between renewals a BundlePoller refreshes
// the trust bundle (GET /v1/ca/bundle?spiffeId=..., about every 30 s) and
// pushes a changed one at once, so a CA rotation reaches every proxy
// before the new root signs (enrol.BundleLead).
//
// The wire types are internal/ca/enrol's. The package talks to the server
// over HTTP only (import rule 3).
package svid
