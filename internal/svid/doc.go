// Package svid is the sidecar's workload identity (issue 13, sidecar side):
// it enrols with the control plane's CA (a private ECDSA key made here and
// never sent anywhere, a CSR for the proxy's SPIFFE id, POST /v1/ca/sign),
// renews the certificate at half its lifetime, and serves it to the local
// Envoy over SDS on a Unix socket, as the SPIRE agent did for App Mesh:
// the SVID under its SPIFFE id and under "default", the trust bundle under
// the trust domain name and under spiffe://<trust-domain>. Every renewal
// is pushed to Envoy at once.
//
// The wire types are internal/ca/enrol's. The package talks to the server
// over HTTP only (import rule 3).
package svid
