// Package telemetry is the room for live golden signals: it serves Envoy's
// gRPC MetricsService (envoy.service.metrics.v3) on the xDS server, turns
// each proxy's cumulative stats into deltas (handling Envoy restarts and
// counter resets), and keeps, per virtual node or gateway (inbound) and per
// caller → callee edge (the caller's cds_egress_* cluster stats), and per
// virtual service summed over its callers (the catch-all virtual cluster
// of each caller's egress virtual host, ir.VirtualHost.StatsName), a
// bounded sliding window of request rate, success rate, latency p50/p99
// and active connections.
//
// It serves them as Prometheus series (a collector registered on
// Options.Registerer, the server's /metrics registry) and as JSON (Handler:
// /v1/telemetry/signals, /v1/telemetry/edges and /v1/telemetry/services,
// documented in docs/telemetry-api.md).
//
// Envoy sends every stat it has; the codec (ServerOption) decodes messages
// straight from the wire into frames holding only the stats read here, so
// the rest are never allocated (codec.go, wire.go, scan.go: a family in
// Envoy's exact encoding is skipped on its name alone), in the buffers
// gRPC received them in (pieces.go), into samples from a pool the
// Telemetry owns. RegisterService needs that codec on the gRPC server.
// Each stream keeps, across messages, what one message adds to each
// window it feeds and the window itself (stream.go), and the layout of
// each message of its flush (layout.go: Envoy sends the same families in
// the same order every flush), so digesting a flush of the same stats
// allocates nothing, compares each name once, and looks up no series or
// window by name or key.
//
// Every cost is bounded: the size of one stream message, the number of
// series remembered per stream, the number of concurrent streams, and the
// number of windows kept (see Options); the per-stream window cache by the
// series bound. A stream whose first message does not name a virtual node
// or gateway is refused after that one message, and one that sends no
// first message within FirstMessageTimeout is ended, so silent streams
// (which MaxStreams does not count) are bounded in time.
package telemetry
