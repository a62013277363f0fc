package cli_test

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/trellis-mesh/trellis/internal/cli"
)

// runCA executes a `trellis ca|token ...` command against endpoint.
func runCA(t *testing.T, endpoint string, args ...string) (string, error) {
	t.Helper()
	root := &cobra.Command{Use: "trellis", SilenceUsage: true, SilenceErrors: true}
	root.AddCommand(cli.CACommands()...)
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(io.Discard)
	root.SetArgs(append(args, "--endpoint", endpoint))
	err := root.Execute()
	return out.String(), err
}

func TestCAAndTokenVerbs(t *testing.T) {
	ep := startServer(t)
	must := func(args ...string) string {
		out, err := runCA(t, ep, args...)
		if err != nil {
			t.Fatalf("trellis %s: %v", strings.Join(args, " "), err)
		}
		return out
	}
	if out := must("ca", "show"); !strings.Contains(out, "trust domain: trellis.local") || strings.Count(out, "active") != 1 {
		t.Errorf("ca show:\n%s", out)
	}
	if out := must("ca", "show", "--bundle"); !strings.HasPrefix(out, "-----BEGIN CERTIFICATE-----") {
		t.Errorf("ca show --bundle:\n%s", out)
	}
	if out := must("ca", "rotate"); strings.Count(out, "trusted") != 1 || strings.Count(out, "active") != 1 {
		t.Errorf("ca rotate:\n%s", out)
	}
	tok := strings.TrimSpace(must("token", "create", "--mesh", "shop", "--node-pattern", "web-*", "--ttl", "10m", "--single-use"))
	if !strings.HasPrefix(tok, "trellis-jt1.") {
		t.Fatalf("token create printed %q", tok)
	}
	list := must("token", "list")
	id := strings.Split(tok, ".")[1]
	if !strings.Contains(list, id) || !strings.Contains(list, "nodes web-*") || strings.Contains(list, tok) {
		t.Errorf("token list:\n%s", list)
	}
	must("token", "revoke", id)
	if _, err := runCA(t, ep, "token", "revoke", id); err == nil || !strings.Contains(err.Error(), "NotFoundException") {
		t.Errorf("second revoke: %v", err)
	}
	if _, err := runCA(t, ep, "token", "create", "--mesh", "shop", "--ttl", "1h"); err == nil {
		t.Error("token create without --node or --node-pattern succeeded")
	}
}
