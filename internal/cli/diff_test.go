package cli_test

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/trellis-mesh/trellis/internal/cli"
)

func TestDiff(t *testing.T) {
	ep := startServer(t)

	// Empty server: everything would be created.
	out, err := run(t, ep, "", "diff", "-f", "testdata/shop.yaml")
	if !errors.Is(err, cli.ErrDiffFound) || err.Error() != "8 resources would change" {
		t.Errorf("diff on empty server: err %v", err)
	}
	goldenFile(t, "diff_create.golden", out)

	// Diff changed nothing.
	if out := mustRun(t, ep, "get", "mesh"); strings.Contains(out, "shop") {
		t.Errorf("diff created a mesh:\n%s", out)
	}

	// After apply: nothing would change.
	mustRun(t, ep, "apply", "-f", "testdata/shop.yaml")
	goldenFile(t, "diff_unchanged.golden", mustRun(t, ep, "diff", "-f", "testdata/shop.yaml"))

	// A changed weight: one update with its line diff.
	src, err := os.ReadFile("testdata/shop.yaml")
	if err != nil {
		t.Fatal(err)
	}
	changed := strings.Replace(string(src), "weight: 90", "weight: 50", 1)
	out, err = run(t, ep, changed, "diff", "-f", "-")
	if !errors.Is(err, cli.ErrDiffFound) || err.Error() != "1 resource would change" {
		t.Errorf("diff after edit: err %v", err)
	}
	goldenFile(t, "diff_update.golden", out)
	if !strings.Contains(out, "\n-       weight: 90\n") || !strings.Contains(out, "\n+       weight: 50\n") {
		t.Errorf("update diff lacks the weight lines:\n%s", out)
	}
}

func TestDescribe(t *testing.T) {
	ep := startServer(t)
	mustRun(t, ep, "apply", "-f", "testdata/shop.yaml")
	y := mustRun(t, ep, "describe", "route", "split", "--mesh", "shop", "--router", "web-router")
	for _, want := range []string{"metadata:\n", "routeName: split\n", "weight: 90\n", "status: ACTIVE\n", "version: 1\n"} {
		if !strings.Contains(y, want) {
			t.Errorf("describe lacks %q:\n%s", want, y)
		}
	}
	if !timestamps.MatchString(y) || strings.Count(timestamps.FindAllString(y, -1)[0], "T") != 1 {
		t.Errorf("describe timestamps are not ISO 8601:\n%s", y)
	}
	m := mustRun(t, ep, "describe", "mesh", "shop")
	if !strings.Contains(m, "meshName: shop\n") || !strings.Contains(m, "type: ALLOW_ALL\n") {
		t.Errorf("describe mesh:\n%s", m)
	}
	if _, err := run(t, ep, "", "describe", "vn", "nope", "--mesh", "shop"); err == nil || !strings.HasPrefix(err.Error(), "NotFoundException: ") {
		t.Errorf("describe missing: %v", err)
	}
}
