// Package xdsserver is the ADS room: it holds every node's snapshot in its
// own cache (cache.go; go-control-plane's stream servers ask it for
// watches), serves it to Envoy over gRPC (aggregated discovery, both
// state-of-the-world and delta, every v3 resource type), and watches the
// streams: which node ids are connected, which version of each resource type
// every stream was sent, ACKed and NACKed. It exports that as Status (JSON on
// /debug/xds), as node connection changes for reconcile (nodes.go: a
// coalescing set of changed node keys over the connected-node table, lossless
// by construction), and as Prometheus metrics, reconcile's included.
//
// A snapshot that changes which clusters the listeners and routes use is
// published make before break (mbb.go): old and new clusters and endpoints
// first, then the new listeners and routes once every stream of the node
// acknowledged those, then the old clusters' removal once they
// acknowledged the routes, so that Envoy never routes to a cluster it has
// not warmed or has already removed (503 NC).
//
// It knows Envoy and App Mesh node ids but no App Mesh resource: reconcile
// hands it complete, consistent per-node resource sets (SetResources) built
// by xdsgen. It must not import apis, irgen, manager or store.
//
// ServeAuthenticated (auth.go, authserve.go) serves a stream only while the
// node id it claims matches what its transport proves: the SPIFFE id of a
// client certificate, or a principal whose Identity.Authorize hook accepts
// the node id (the server wires SigV4 call credentials there).
//
// Every listener shares the limits (limits.go, Options.Limits): a
// server-wide cap on open connections (closed at accept past it,
// authserve.go's capListener), one on open streams (RESOURCE_EXHAUSTED
// past it), a
// per-connection HTTP/2 stream cap, and a deadline for an ADS stream's
// first request; refusals are counted by reason and logged once per burst
// (refused.go). gRPC keepalives (serve) detect dead peers, and a
// connection without streams is closed after Limits.IdleConnTimeout.
//
// Options.Services registers further gRPC services on the same listeners
// (the telemetry room's MetricsService); Proxies (proxies.go, JSON on
// /v1/proxies) summarises each proxy's config state for the CLI and the
// console.
package xdsserver
