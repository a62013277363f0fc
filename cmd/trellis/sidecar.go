package main

import (
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/trellis-mesh/trellis/internal/sidecar"
)

func sidecarCommand() *cobra.Command {
	var logLevel, logFormat string
	cmd := &cobra.Command{
		Use:   "sidecar",
		Short: "Run Envoy for one virtual node or gateway: bootstrap, supervision, readiness, drain",
		Long: `Run the Trellis agent next to an application: render Envoy's bootstrap for
one App Mesh virtual node or gateway, start Envoy, restart it if it exits,
serve GET /ready and GET /status on --agent-addr, and drain on SIGTERM.
With --api-endpoint, a virtual node discovered through awsCloudMap
registers its instance in the Trellis registry once Envoy is live,
heartbeats it, and deregisters it on SIGTERM before draining.

Identity and settings come from flags, else from the environment variables
of the aws-appmesh-envoy image, so existing task definitions keep working:

  APPMESH_RESOURCE_ARN=mesh/color/virtualNode/front \
  APPMESH_XDS_ENDPOINT=trellis:9081 trellis sidecar

  trellis sidecar --mesh color --virtual-node front --interception none \
    --egress-address 127.0.0.2 --xds-address 127.0.0.1:9081`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := newLogger(logLevel, logFormat)
			if err != nil {
				return err
			}
			cfg, err := sidecar.Load(sidecar.OSSource(givenFlags(cmd)))
			if err != nil {
				return err
			}
			cfg.Logger = log
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			go func() {
				<-ctx.Done()
				stop() // a second signal ends the sidecar at once
			}()
			return sidecar.Run(ctx, cfg)
		},
	}
	f := cmd.Flags()
	for _, spec := range sidecar.Flags() {
		if spec.Bool {
			f.Bool(spec.Name, false, spec.Usage)
			continue
		}
		f.String(spec.Name, "", spec.Usage)
	}
	f.StringVar(&logLevel, "log-level", "info", "sidecar (agent) log level: debug, info, warn, error; Envoy's own output is passed through unchanged")
	f.StringVar(&logFormat, "log-format", "text", "log format: text or json")
	return cmd
}

// givenFlags returns the sidecar flags the user set, so Load lets them win
// over the environment.
func givenFlags(cmd *cobra.Command) map[string]string {
	given := map[string]string{}
	for _, spec := range sidecar.Flags() {
		if f := cmd.Flags().Lookup(spec.Name); f != nil && f.Changed {
			given[spec.Name] = f.Value.String()
		}
	}
	return given
}
