package main

import (
	"github.com/spf13/cobra"

	"github.com/trellis-mesh/trellis/internal/server"
)

// addAuthFlags adds the API security flags of `trellis server`: SigV4
// authentication is on by default; --insecure-no-auth turns it off and
// allows non-loopback addresses (with a warning).
func addAuthFlags(cmd *cobra.Command, cfg *server.Config) {
	f := cmd.Flags()
	f.BoolVar(&cfg.Auth.Enabled, "auth", true, "require SigV4-signed requests (access keys managed with `trellis admin`) on the API port; off, the server binds loopback addresses only")
	f.StringVar(&cfg.Auth.KeyFile, "auth-key-file", "", "AES-256 key that encrypts access-key secrets in the store, created 0600 if missing; every replica needs the same file (default <data-dir>/auth.key)")
	f.BoolVar(&cfg.Auth.InsecureNoAuth, "insecure-no-auth", false, "turn authentication off even on non-loopback addresses: anyone who can reach the API can change the mesh")
	f.StringVar(&cfg.Auth.AuditDir, "audit-dir", "", "directory of the CloudTrail-shaped audit log of authenticated calls, read by `trellis audit` (default <data-dir>/audit)")
	f.StringVar(&cfg.APITLSCert, "api-tls-cert", "", "PEM certificate (chain) for the API port; with --api-tls-key the API serves HTTPS (HTTP/2 and HTTP/1.1)")
	f.StringVar(&cfg.APITLSKey, "api-tls-key", "", "PEM private key for --api-tls-cert")
	f.StringVar(&cfg.Metrics.Addr, "metrics-addr", "", "extra listener serving only GET /metrics, for scrapers that cannot SigV4-sign (Prometheus); a non-loopback address needs --metrics-bearer-token-file; TLS with the API certificate when --api-tls-cert is set")
	f.StringVar(&cfg.Metrics.BearerTokenFile, "metrics-bearer-token-file", "", "file holding the token scrapes of --metrics-addr must send as \"Authorization: Bearer <token>\" (read at start)")
	f.BoolVar(&cfg.Metrics.Pprof, "metrics-pprof", false, "also serve Go profiles under /debug/pprof/ on --metrics-addr (same bearer token), for performance work")
}

// applyInsecure: --insecure-no-auth means no authentication.
func applyInsecure(cfg *server.Config) {
	if cfg.Auth.InsecureNoAuth {
		cfg.Auth.Enabled = false
	}
}
