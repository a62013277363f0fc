package cli_test

import (
	"strings"
	"testing"
)

// oddNames uses names the API accepts (docs/names.md) that are unusual in
// YAML, URLs and tables: non-ASCII, spaces, '#', '?', '%', ':'.
const oddNames = `kind: Mesh
meshName: "shop.v1_ü"
spec: {}
---
kind: VirtualNode
meshName: "shop.v1_ü"
virtualNodeName: "nödé-日本:1"
spec:
  listeners:
    - portMapping: {port: 8080, protocol: http}
  serviceDiscovery:
    dns: {hostname: node.shop.local}
---
kind: VirtualRouter
meshName: "shop.v1_ü"
virtualRouterName: "r: one?#%"
spec:
  listeners:
    - portMapping: {port: 8080, protocol: http}
---
kind: Route
meshName: "shop.v1_ü"
virtualRouterName: "r: one?#%"
routeName: "route with spaces & 100%"
spec:
  httpRoute:
    match: {prefix: /}
    action:
      weightedTargets: [{virtualNode: "nödé-日本:1", weight: 1}]
---
kind: VirtualService
meshName: "shop.v1_ü"
virtualServiceName: "svc #1?.local"
spec:
  provider:
    virtualRouter: {virtualRouterName: "r: one?#%"}
`

// TestOddNamesRoundTrip: every name the API accepts works through the CLI:
// apply, export, apply of the export on another server, get, describe and
// delete by name.
func TestOddNamesRoundTrip(t *testing.T) {
	ep := startServer(t)
	if out, err := run(t, ep, oddNames, "apply", "-f", "-"); err != nil || strings.Count(out, "created") != 5 {
		t.Fatalf("apply: %v\n%s", err, out)
	}
	exported := mustRun(t, ep, "export", "--mesh", "shop.v1_ü")
	other := startServer(t)
	if out, err := run(t, other, exported, "apply", "-f", "-"); err != nil || strings.Count(out, "created") != 5 {
		t.Fatalf("apply of the export elsewhere: %v\n%s", err, out)
	}
	if again := mustRun(t, other, "export", "--mesh", "shop.v1_ü"); again != exported {
		t.Errorf("export differs after the round trip:\n%s\n---\n%s", exported, again)
	}
	got := mustRun(t, other, "get", "route", "--mesh", "shop.v1_ü", "--router", "r: one?#%")
	if !strings.Contains(got, "route with spaces & 100%") {
		t.Errorf("get routes:\n%s", got)
	}
	d := mustRun(t, other, "describe", "route", "route with spaces & 100%", "--mesh", "shop.v1_ü", "--router", "r: one?#%")
	if !strings.Contains(d, "nödé-日本:1") {
		t.Errorf("describe:\n%s", d)
	}
	mustRun(t, other, "delete", "route", "route with spaces & 100%", "--mesh", "shop.v1_ü", "--router", "r: one?#%")
}
