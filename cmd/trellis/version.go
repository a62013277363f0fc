package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version describes this binary from its build information: the module
// version (a tag, or "(devel)" for a build from a checkout), the VCS
// revision and time and whether the tree was modified, and the Go
// version.
func version() string {
	v, rev, at, dirty := "(devel)", "", "", false
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.time":
				at = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
	}
	out := v
	if rev != "" {
		out += " (commit " + rev[:min(12, len(rev))]
		if dirty {
			out += ", modified"
		}
		if at != "" {
			out += ", " + at
		}
		out += ")"
	}
	return fmt.Sprintf("%s %s %s/%s", out, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// withVersion gives root a --version flag and a version subcommand.
func withVersion(root *cobra.Command) {
	root.Version = version()
	root.SetVersionTemplate("trellis {{.Version}}\n")
	root.AddCommand(versionCommand())
}

func versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of this binary (also: trellis --version)",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintln(cmd.OutOrStdout(), "trellis", version())
		},
	}
}
