package cli_test

import (
	"bytes"
	"flag"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/trellis-mesh/trellis/internal/golden"

	"github.com/spf13/cobra"

	"github.com/trellis-mesh/trellis/internal/cli"
	"github.com/trellis-mesh/trellis/internal/server"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// startServer runs a Trellis server in-process (API only) and returns its
// endpoint.
func startServer(t *testing.T) string {
	t.Helper()
	s, err := server.Start(server.Config{
		DataDir:   t.TempDir(),
		APIAddr:   "127.0.0.1:0",
		Region:    "us-east-1",
		AccountID: "123456789012",
		Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatalf("server.Start: %v", err)
	}
	t.Cleanup(func() { _ = s.Stop() })
	return "http://" + s.Addr()
}

// run executes `trellis ARGS... --endpoint E` and returns stdout and the
// command's error.
func run(t *testing.T, endpoint string, stdin string, args ...string) (string, error) {
	t.Helper()
	root := &cobra.Command{Use: "trellis", SilenceUsage: true, SilenceErrors: true}
	root.AddCommand(cli.Commands()...)
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(io.Discard)
	root.SetIn(strings.NewReader(stdin))
	root.SetArgs(append(args, "--endpoint", endpoint))
	err := root.Execute()
	return out.String(), err
}

func mustRun(t *testing.T, endpoint string, args ...string) string {
	t.Helper()
	out, err := run(t, endpoint, "", args...)
	if err != nil {
		t.Fatalf("trellis %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// goldenFile compares got with testdata/name (rewritten with -update).
func goldenFile(t *testing.T, name, got string) {
	t.Helper()
	golden.Check(t, filepath.Join("testdata", name), []byte(got), *update)
}

var timestamps = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ`)

func TestApplyExportApply(t *testing.T) {
	ep := startServer(t)
	goldenFile(t, "apply.golden", mustRun(t, ep, "apply", "-f", "testdata/shop.yaml"))
	goldenFile(t, "apply_again.golden", mustRun(t, ep, "apply", "-f", "testdata/shop.yaml"))

	exported := mustRun(t, ep, "export", "--mesh", "shop")
	goldenFile(t, "export.golden", exported)

	// The export applies as a no-op, from stdin and from a directory.
	out, err := run(t, ep, exported, "apply", "-f", "-")
	if err != nil {
		t.Fatalf("apply export: %v", err)
	}
	goldenFile(t, "apply_again.golden", out)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "shop.yml"), []byte(exported), 0o644); err != nil {
		t.Fatal(err)
	}
	goldenFile(t, "apply_again.golden", mustRun(t, ep, "apply", "-f", dir))

	// A changed spec is updated; the rest stays.
	changed := strings.Replace(exported, "weight: 90", "weight: 50", 1)
	changed = strings.Replace(changed, "weight: 10", "weight: 50", 1)
	out, err = run(t, ep, changed, "apply", "-f", "-")
	if err != nil {
		t.Fatalf("apply changed: %v", err)
	}
	if !strings.Contains(out, "route/shop/web-router/split updated\n") || strings.Count(out, "unchanged") != 7 {
		t.Errorf("changed apply:\n%s", out)
	}

	goldenFile(t, "get_nodes.golden", timestamps.ReplaceAllString(mustRun(t, ep, "get", "virtualnodes", "--mesh", "shop"), "<time>"))
	goldenFile(t, "get_routes.golden", timestamps.ReplaceAllString(mustRun(t, ep, "get", "route", "--mesh", "shop", "--router", "web-router"), "<time>"))
	y := mustRun(t, ep, "get", "vn", "web-v1", "--mesh", "shop", "-o", "yaml")
	if !strings.Contains(y, "hostname: web-v1.shop.local") || !strings.Contains(y, "virtualNodeName: web-v1") {
		t.Errorf("get -o yaml:\n%s", y)
	}
	j := mustRun(t, ep, "get", "mesh", "shop", "-o", "json")
	if !strings.Contains(j, `"type": "ALLOW_ALL"`) || !regexp.MustCompile(`"createdAt": "\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"`).MatchString(j) {
		t.Errorf("get -o json (want RFC 3339 timestamps):\n%s", j)
	}
	if l := mustRun(t, ep, "get", "vn", "--mesh", "shop", "-o", "json"); !regexp.MustCompile(`"lastUpdatedAt": "\d{4}-\d\d-\d\dT`).MatchString(l) {
		t.Errorf("get vn -o json (want RFC 3339 timestamps):\n%s", l)
	}

	// Delete one resource, then the rest from the file in reverse order.
	if _, err := run(t, ep, "", "delete", "virtualnode", "web-v1", "--mesh", "shop"); err == nil || !strings.Contains(err.Error(), "ResourceInUseException") {
		t.Errorf("delete node in use: %v", err)
	}
	goldenFile(t, "delete.golden", mustRun(t, ep, "delete", "-f", "testdata/shop.yaml"))
	if out := mustRun(t, ep, "get", "mesh"); strings.Contains(out, "shop") {
		t.Errorf("mesh left after delete:\n%s", out)
	}
}

func TestApplyStopsAtFirstError(t *testing.T) {
	ep := startServer(t)
	out, err := run(t, ep, "", "apply", "-f", "testdata/bad3.yaml")
	if err == nil {
		t.Fatal("apply of a broken document succeeded")
	}
	goldenFile(t, "bad3.golden", out+"error: "+err.Error()+"\n")
	if !strings.Contains(err.Error(), "BadRequestException: ") || !strings.Contains(err.Error(), "spec.listeners[0].portMapping.port") {
		t.Errorf("error lacks the server's type and field path: %v", err)
	}
	if _, err := run(t, ep, "", "get", "vn", "never", "--mesh", "bad"); err == nil || !strings.HasPrefix(err.Error(), "NotFoundException: ") {
		t.Errorf("document 4 was applied after the failure: %v", err)
	}
}

func TestDocumentErrors(t *testing.T) {
	ep := startServer(t)
	for name, doc := range map[string]string{
		"unknown key":     "kind: Mesh\nmeshName: m\nspek: {}\n",
		"bad kind":        "kind: Pod\nmeshName: m\n",
		"missing name":    "kind: VirtualNode\nmeshName: m\nspec: {}\n",
		"foreign name":    "kind: VirtualNode\nmeshName: m\nvirtualNodeName: n\nrouteName: r\n",
		"duplicate":       "kind: Mesh\nmeshName: m\n---\nkind: Mesh\nmeshName: m\n",
		"route no router": "kind: Route\nmeshName: m\nrouteName: r\nspec: {}\n",
	} {
		out, err := run(t, ep, doc, "apply", "-f", "-")
		if err == nil || out != "" {
			t.Errorf("%s: out %q err %v", name, out, err)
		}
	}
	// Nothing was applied.
	if out := mustRun(t, ep, "get", "mesh"); strings.Contains(out, "\nm ") {
		t.Errorf("a mesh was created:\n%s", out)
	}
}
