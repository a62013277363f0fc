package main

import (
	"github.com/spf13/cobra"

	"github.com/trellis-mesh/trellis/internal/ca"
	"github.com/trellis-mesh/trellis/internal/server"
)

// addCAFlags registers the built-in CA and authenticated-xDS flags of
// `trellis server` (docs/identity.md).
func addCAFlags(cmd *cobra.Command, c *server.CAConfig) {
	f := cmd.Flags()
	f.StringVar(&c.TrustDomain, "trust-domain", ca.DefaultTrustDomain, "SPIFFE trust domain of the certificates the built-in CA issues")
	f.DurationVar(&c.SVIDTTL, "svid-ttl", ca.DefaultSVIDTTL, "lifetime of the certificates the built-in CA issues (1m to 720h); sidecars renew at half-life")
	f.StringVar(&c.SealKeyFile, "ca-key-file", "", "file with the 32-byte key (hex or base64) that encrypts the CA's private keys in the store; every replica needs the same one (default: an existing <data-dir>/ca-seal.key, else the --auth-key-file key when API auth is on, else <data-dir>/ca-seal.key created at first start)")
	f.BoolVar(&c.XDSMTLS, "xds-mtls", false, "require client certificates of the built-in CA on --xds-addr and serve a stream only when its node id names the certificate's SPIFFE identity")
	f.BoolVar(&c.XDSAllowUnauthenticated, "xds-allow-unauthenticated", false, "serve xDS without client authentication; only accepted when --xds-addr is a loopback address (the Unix socket is always unauthenticated)")
	f.StringSliceVar(&c.XDSServerNames, "xds-server-name", nil, "extra DNS name of the xDS server certificate the CA issues with --xds-mtls (repeatable)")
}
