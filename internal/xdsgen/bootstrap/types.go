package bootstrap

// Extension types a user's fragment file may name in a typed_config,
// linked so Merge can decode and validate them (protojson resolves Any
// types from the linked protos): the stats sinks and tracer pieces beyond
// config/metrics/v3 and config/trace/v3, and TLS for a collector cluster.
import (
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/stat_sinks/graphite_statsd/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/tracers/opentelemetry/resource_detectors/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/tracers/opentelemetry/samplers/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
)
