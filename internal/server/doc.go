// Package server is the wiring room: it opens the store (bbolt, or etcd
// with storeconfig.go), builds the manager and the API server, serves them,
// and shuts everything down in order on cancellation (stop accepting,
// finish in-flight requests, close the store). Nothing imports it but
// cmd/trellis and tests.
//
// On the API port it mounts, besides the App Mesh and Cloud Map APIs:
// GET /healthz and /readyz (ready.go), GET /admin/backup (package backup),
// the auth middleware in front of everything else and the admin API
// (auth.go, authwire.go, policycache.go), the built-in CA's enrolment and
// admin API (ca.go, cakey.go), the ACM stand-in (acm.go), the telemetry
// and proxy-status JSON (telemetry.go), the history and event stream
// (history.go) and the console (console.go). The xDS server's streams may
// be authenticated by mTLS or by SigV4 call credentials (xdssigv4.go).
//
// A background stage (mesh view, reconcile, registry, auth mirror, ACM
// view, history recorder, xDS) that dies stops the server with its error
// (stages.go; Failed, Run). With etcd, once-only work runs on the elected
// replica (package election).
//
// It owns the server's Prometheus registry, served at GET /metrics on the API
// port: Go and process collectors, the xDS server's metrics, and API request
// counts and latency by API, operation and status code (metrics.go), and,
// with Config.Metrics.Addr, on a scrape-only listener guarded by loopback or
// a bearer token (metricsaddr.go).
package server
