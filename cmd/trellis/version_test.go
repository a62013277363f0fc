package main

import (
	"bytes"
	"runtime"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestVersion: `trellis version` and `trellis --version` print the
// binary's version and Go version.
func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		root := &cobra.Command{Use: "trellis", SilenceUsage: true, SilenceErrors: true}
		withVersion(root)
		var out bytes.Buffer
		root.SetOut(&out)
		root.SetArgs(args)
		if err := root.Execute(); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		if !strings.HasPrefix(out.String(), "trellis ") || !strings.Contains(out.String(), runtime.Version()) {
			t.Errorf("%v printed %q", args, out.String())
		}
	}
}
