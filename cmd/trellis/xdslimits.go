package main

import (
	"github.com/spf13/cobra"

	"github.com/trellis-mesh/trellis/internal/xdsserver"
)

// addXDSLimitFlags registers the connection and stream limits of the xDS listeners of
// `trellis server` (docs/fleet.md, "Stream limits").
func addXDSLimitFlags(cmd *cobra.Command, l *xdsserver.Limits) {
	f := cmd.Flags()
	f.IntVar(&l.MaxConns, "xds-max-connections", xdsserver.DefaultMaxConns,
		"most open connections over all xDS listeners (TCP, TLS, mTLS, Unix socket); more are closed at accept and Envoy reconnects (0: default)")
	f.IntVar(&l.MaxStreams, "xds-max-streams", xdsserver.DefaultMaxStreams,
		"most open gRPC streams (ADS, delta ADS, metrics) over all xDS listeners; more end with RESOURCE_EXHAUSTED and Envoy retries (0: default)")
	f.IntVar(&l.MaxStreamsPerConn, "xds-max-streams-per-connection", xdsserver.DefaultMaxStreamsPerConn,
		"most concurrent streams on one xDS connection (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS; 0: default)")
	f.DurationVar(&l.FirstRequestTimeout, "xds-first-request-timeout", xdsserver.DefaultFirstRequestTimeout,
		"how long an ADS or metrics stream may stay open before its first message; then it ends with DEADLINE_EXCEEDED (0: default)")
}
