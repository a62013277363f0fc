// Package server is the wiring room: it opens the store, builds the manager
// and the API server, serves them, and shuts everything down in order on
// cancellation (stop accepting, finish in-flight requests, close the store).
// It also mounts the administrative GET /admin/backup (package backup) on
// the API port.
// A background stage (mesh view, reconcile, registry, xDS) that dies stops
// the server with its error (stages.go; Failed, Run).
// Nothing imports it but cmd/trellis and tests.
//
// It owns the server's Prometheus registry, served at GET /metrics on the API
// port: Go and process collectors, the xDS server's metrics, and API request
// counts and latency by API, operation and status code (metrics.go), and,
// with Config.Metrics.Addr, on a scrape-only listener guarded by loopback or
// a bearer token (metricsaddr.go).
package server
