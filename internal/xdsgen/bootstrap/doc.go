// Package bootstrap renders the Envoy bootstrap a Trellis proxy starts
// with: its node identity, the admin endpoint, one ADS stream to the
// Trellis server and the static clusters dynamic configuration may name
// (xds_cluster, static_cluster_sds_unix_socket). Telemetry adds stats tags,
// the flush interval, a DogStatsD sink and one tracer (X-Ray, Zipkin,
// Datadog, OpenTelemetry) with its collector cluster; Merge folds users'
// bootstrap fragments in with App Mesh's agent rules (docs/telemetry.md).
//
// It belongs to the xdsgen room: xdsgen's SDS references point at the
// cluster names defined here, and nothing here knows App Mesh beyond the
// runtime flags App Mesh bootstraps carried, which dynamic configuration
// relies on (every extension must be typed).
package bootstrap
