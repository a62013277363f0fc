// Package sidecar is the agent room: `trellis sidecar` runs next to an
// application (or as a virtual gateway), renders the Envoy bootstrap for
// one App Mesh virtual node or gateway, starts Envoy and keeps it running,
// answers readiness probes, and drains Envoy on shutdown. It plays the part
// of the "AWS App Mesh Agent" of the aws-appmesh-envoy image and reads the
// same environment variables, so existing task definitions and pod specs
// keep working when pointed at Trellis.
//
// The sidecar talks to the Trellis server over the network only (xDS from
// Envoy; later the registry API). It never imports store, manager, irgen or
// reconcile.
//
// Lifecycle (Run):
//
//  1. Config (config.go) is resolved from flags, then environment, then
//     defaults; flags win over the environment.
//  2. The bootstrap (bootstrap.go) is rendered to a temporary file, or to
//     ENVOY_CONFIG_FILE; an existing non-empty ENVOY_CONFIG_FILE is used
//     verbatim. App Mesh's stats and tracing variables (telemetry.go,
//     docs/telemetry.md) add tags, sinks and a tracer, and merge the
//     user's tracing/stats fragment files.
//  3. The supervisor (supervisor.go) starts Envoy with the sidecar's own
//     stdout and stderr, so access logs on /dev/stdout and Envoy's log
//     lines come out byte for byte, as from App Mesh's image (Envoy's
//     level is --envoy-log-level; the agent's structured slog, on stderr
//     from the CLI, follows --log-level). It restarts Envoy with
//     exponential backoff when it exits unexpectedly, up to MaxRestarts;
//     then Run fails.
//  4. The agent HTTP server (readiness.go) answers GET /ready (200 once
//     Envoy reports LIVE) and GET /status.
//  5. The control-plane watch (xdswatch.go) polls Envoy's
//     control_plane.connected_state and logs a WARN while the xDS stream
//     is down (at once after an outage, after a start grace before the
//     first connection, repeated every 30 s) and an INFO when it is back.
//     The bootstrap's ADS backoff caps reconnect attempts at 2 s apart.
//  6. On context cancellation (SIGTERM/SIGINT in the command), drain.go
//     marks the agent not ready, deregisters the instance, drains Envoy's
//     listeners gracefully, waits for connections to finish (at most the
//     drain time), then stops Envoy.
//
// Registration in the service registry and iptables interception come
// later; Registrar is the hook for the former.
package sidecar
