// Package enrol is the wire contract of the built-in CA (issue 13), shared
// by the server (internal/ca/caapi), the CLI and the sidecar: the JSON
// bodies of POST /v1/ca/sign, GET /v1/ca/bundle and the CA admin API, and
// the SPIFFE id form of a proxy identity, and the proof of possession of a
// current SVID that authenticates renewals and bundle polls. It imports the standard library
// only, so the sidecar and the CLI can use it without the store.
package enrol
