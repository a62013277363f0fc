// Command trellis is the one Trellis binary: the control-plane server and,
// as they arrive, the sidecar agent and CLI verbs.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/trellis-mesh/trellis/internal/cli"
)

func main() {
	root := &cobra.Command{
		Use:           "trellis",
		Short:         "Trellis: a self-hosted, App Mesh-compatible service mesh control plane",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	withVersion(root)
	root.AddCommand(serverCommand())
	root.AddCommand(sidecarCommand())
	root.AddCommand(interceptionCommand())
	root.AddCommand(cli.Commands()...)
	root.AddCommand(cli.AuditCommand(nil))
	root.AddCommand(cli.ACMCommand())
	root.AddCommand(cli.CACommands()...)
	root.AddCommand(cli.ConsoleCommand(nil))
	root.AddCommand(demoCommands()...)
	root.AddCommand(backupCommands()...)
	if err := root.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "trellis:", err)
		os.Exit(1)
	}
}
