package trellis_test

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/trellis-mesh/trellis/"

// rule forbids packages matching from (a prefix) to depend, directly or
// transitively, on packages matching any of notTo.
type rule struct {
	from  string
	notTo []string
	why   string
}

// The import rules of ARCHITECTURE.md. Rooms that do not exist yet are
// listed so the rule holds from their first commit.
var rules = []rule{
	{"internal/apis/", []string{"internal/"}, "wire types import the standard library only"},
	{"internal/validation", []string{"internal/store", "internal/manager", "internal/apiserver", "internal/server"}, "validation is pure shape checking"},
	{"internal/store", []string{"internal/apis", "internal/manager", "internal/apiserver", "internal/validation"}, "the store is schema-agnostic"},
	{"internal/ir", []string{"internal/apis/", "internal/irgen", "internal/xdsgen"}, "the IR imports nothing of the project"},
	{"internal/xdsgen", []string{"internal/apis/", "internal/irgen"}, "xdsgen never sees App Mesh types"},
	{"internal/irgen", []string{"github.com/envoyproxy/go-control-plane"}, "irgen never imports go-control-plane"},
	{"internal/sidecar", []string{"internal/store", "internal/manager", "internal/irgen", "internal/reconcile"}, "the sidecar talks to the server over the network"},
	{"internal/cli", []string{"internal/store", "internal/manager", "internal/irgen", "internal/reconcile"}, "the CLI talks to the server over the network"},
	{"internal/", []string{"internal/server", "cmd/"}, "nothing imports server or cmd"},
	{"internal/console", []string{"internal/store", "internal/manager", "internal/apiserver", "internal/history", "internal/xdsserver", "internal/reconcile"}, "the console is a client of the server's HTTP APIs"},
	{"internal/auth/policy", []string{"internal/store", "internal/manager", "internal/apiserver", "internal/registry", "internal/auth/audit"}, "policy evaluation is pure"},
	{"internal/auth/audit", []string{"internal/store", "internal/manager", "internal/apiserver", "internal/registry", "internal/auth/policy"}, "the audit log is a leaf: files only"},
	{"internal/ca/enrol", []string{"internal/"}, "the CA wire contract is stdlib-only: the sidecar and CLI use it without the store"},
	{"internal/freeport", []string{"internal/"}, "the port picker is a leaf: tests, benchmarks and the demo use it"},
	{"internal/apiserver/routes", []string{"internal/manager", "internal/store", "internal/validation", "internal/auth", "internal/registry", "internal/registryapi"}, "the operations table is a leaf: auth and registryapi read it"},
}

func TestImportRules(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Deps " "}}`, "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		for _, v := range violations(fields[0], fields[1:]) {
			t.Error(v)
		}
	}
}

// TestImportRulesCatch proves the checker fires on known-bad edges.
func TestImportRulesCatch(t *testing.T) {
	bad := map[string]string{
		"internal/irgen":        "github.com/envoyproxy/go-control-plane/envoy/config/route/v3",
		"internal/ir":           module + "internal/apis/appmesh",
		"internal/cli":          module + "internal/manager",
		"internal/apiserver":    module + "internal/server",
		"internal/apis/appmesh": module + "internal/validation",
		"internal/auth/policy":  module + "internal/store",
		"internal/auth/audit":   module + "internal/manager",
		"internal/console":      module + "internal/store",
		"internal/freeport":     module + "internal/apis/appmesh",

		"internal/apiserver/routes": module + "internal/manager",
	}
	for pkg, dep := range bad {
		if len(violations(module+pkg, []string{dep})) == 0 {
			t.Errorf("%s -> %s not caught", pkg, dep)
		}
	}
	if v := violations(module+"cmd/trellis", []string{module + "internal/server"}); len(v) != 0 {
		t.Errorf("cmd may import server: %v", v)
	}
}

// violations lists the rules pkg breaks with its dependency list.
func violations(pkg string, deps []string) []string {
	rel := strings.TrimPrefix(pkg, module)
	var out []string
	for _, r := range rules {
		if !within(rel, r.from) || rel == "internal/server" && r.from == "internal/" {
			continue
		}
		for _, dep := range deps {
			for _, bad := range r.notTo {
				target := bad
				if !strings.HasPrefix(bad, "github.com/") {
					target = module + bad
				}
				if dep != pkg && within(dep, target) {
					out = append(out, rel+" depends on "+strings.TrimPrefix(dep, module)+": "+r.why)
				}
			}
		}
	}
	return out
}

// within reports whether pkg is room or inside it; a room ending in "/"
// matches everything below it.
func within(pkg, room string) bool {
	if strings.HasSuffix(room, "/") {
		return strings.HasPrefix(pkg, room)
	}
	return pkg == room || strings.HasPrefix(pkg, room+"/")
}
