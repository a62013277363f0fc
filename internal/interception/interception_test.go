package interception

import (
	"context"
	"flag"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/trellis-mesh/trellis/internal/golden"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

func render(cmds []Command) string {
	var b strings.Builder
	for _, c := range cmds {
		b.WriteString(c.String())
		b.WriteByte('\n')
	}
	return b.String()
}

func goldenFile(t *testing.T, name, got string) {
	t.Helper()
	golden.Check(t, filepath.Join("testdata", name+".golden"), []byte(got), *update)
}

func TestRulesGolden(t *testing.T) {
	many := make([]int, 20)
	for i := range many {
		many[i] = 9000 + i
	}
	for name, cfg := range map[string]Config{
		// APPMESH_IGNORE_UID=1337 and nothing else: egress capture only.
		"defaults": {},
		// The Kubernetes injector's proxyinit for a node listening on 9080.
		"k8s-proxyinit": {IngressPort: 15000, EgressPort: 15001, IgnoreUIDs: []int{1337}, AppPorts: []int{9080},
			EgressIgnoredIPs: []string{"169.254.169.254"}, EgressIgnoredPorts: []int{22}, EnableIPv6: true},
		// ECS proxyConfiguration with a GID, several ports and IPs of both families.
		"ecs-gid-mixed": {IgnoreGIDs: []int{1338}, AppPorts: []int{8080, 8443, 8080},
			EgressIgnoredIPs:   []string{"169.254.170.2", "169.254.169.254", "10.0.0.0/8", "fd00:ec2::254", "::ffff:192.0.2.1"},
			EgressIgnoredPorts: []int{3306, 2049}, EnableIPv6: true},
		"custom-ports-uid-gid": {IngressPort: 16000, EgressPort: 16001, IgnoreUIDs: []int{1337, 1000}, IgnoreGIDs: []int{1337},
			AppPorts: []int{80}, EgressIgnoredIPs: []string{"fd00::/8"}},
		"many-ports": {AppPorts: many, EgressIgnoredPorts: many},
	} {
		t.Run(name, func(t *testing.T) {
			cmds, err := Rules(cfg)
			if err != nil {
				t.Fatal(err)
			}
			goldenFile(t, name, render(cmds))
		})
	}
}

func TestRulesValidation(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want []string
	}{
		{Config{IngressPort: 70000}, []string{"ingress port 70000: want a port in 1..65535"}},
		{Config{EgressPort: -1}, []string{"egress port -1"}},
		{Config{IngressPort: 15001}, []string{"ingress and egress port are both 15001"}},
		{Config{AppPorts: []int{0, 15000}}, []string{"app port 0:", "app port 15000 is one of Envoy's capture ports"}},
		{Config{EgressIgnoredPorts: []int{65536}}, []string{"egress ignored port 65536"}},
		{Config{IgnoreUIDs: []int{-5}}, []string{"ignored uid -5"}},
		{Config{EgressIgnoredIPs: []string{"10.0.0.300", "fe80::1%eth0", "10.0.0.0/33", "x"}},
			[]string{`"10.0.0.300"`, `"fe80::1%eth0"`, `"10.0.0.0/33"`, `"x"`}},
	} {
		_, err := Rules(tc.cfg)
		if err == nil {
			t.Errorf("%+v: no error", tc.cfg)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%+v: error %q lacks %q", tc.cfg, err, w)
			}
		}
	}
}

// fakeTables models the nat table well enough for Apply and Remove:
// chains with rules, -N/-A/-C/-D/-F/-X/-S and iptables' exit status 1 for
// missing rules and chains.
type fakeTables struct {
	chains map[string]map[string][]string // tool → chain → rules
	log    []string
	failOn string
}

func newFake() *fakeTables {
	f := &fakeTables{chains: map[string]map[string][]string{}}
	for _, tool := range []string{"iptables", "ip6tables"} {
		f.chains[tool] = map[string][]string{"PREROUTING": nil, "OUTPUT": nil, "INPUT": nil, "POSTROUTING": nil}
	}
	return f
}

func (f *fakeTables) run(_ context.Context, c Command) error {
	f.log = append(f.log, c.String())
	if f.failOn != "" && strings.Contains(c.String(), f.failOn) {
		return &CommandError{Command: c, ExitCode: 2, Stderr: "injected failure"}
	}
	if len(c.Args) < 4 || c.Args[0] != "-t" || c.Args[1] != "nat" {
		return fmt.Errorf("unexpected command %s", c)
	}
	chains := f.chains[c.Path]
	op, chain, rule := c.Args[2], c.Args[3], strings.Join(c.Args[4:], " ")
	fail := func(msg string) error { return &CommandError{Command: c, ExitCode: 1, Stderr: msg} }
	rules, ok := chains[chain]
	if !ok && op != "-N" {
		return fail("No chain/target/match by that name.")
	}
	switch op {
	case "-N":
		if ok {
			return fail("Chain already exists.")
		}
		chains[chain] = []string{}
	case "-A":
		if target := c.Args[len(c.Args)-1]; strings.HasPrefix(target, "APPMESH_") {
			if _, ok := chains[target]; !ok {
				return fail("Couldn't load target")
			}
		}
		chains[chain] = append(rules, rule)
	case "-C", "-D":
		if target := c.Args[len(c.Args)-1]; strings.HasPrefix(target, "APPMESH_") {
			if _, ok := chains[target]; !ok {
				// What iptables-nft does: a usage error, exit status 2.
				return &CommandError{Command: c, ExitCode: 2, Stderr: "Chain '" + target + "' does not exist"}
			}
		}
		i := slices.Index(rules, rule)
		if i < 0 {
			return fail("Bad rule (does a matching rule exist in that chain?).")
		}
		if op == "-D" {
			chains[chain] = slices.Delete(rules, i, i+1)
		}
	case "-S":
	case "-F":
		chains[chain] = []string{}
	case "-X":
		if len(rules) > 0 {
			return fail("Directory not empty")
		}
		for _, rs := range chains {
			for _, r := range rs {
				if strings.HasSuffix(r, "-j "+chain) {
					return fail("Too many links")
				}
			}
		}
		delete(chains, chain)
	default:
		return fmt.Errorf("unexpected op %s", c)
	}
	return nil
}

func (f *fakeTables) dump() string {
	var b strings.Builder
	for _, tool := range []string{"iptables", "ip6tables"} {
		var names []string
		for name := range f.chains[tool] {
			names = append(names, name)
		}
		slices.Sort(names)
		for _, name := range names {
			fmt.Fprintf(&b, "%s %s\n", tool, name)
			for _, r := range f.chains[tool][name] {
				fmt.Fprintf(&b, "  %s\n", r)
			}
		}
	}
	return b.String()
}

func TestApplyRemove(t *testing.T) {
	ctx := context.Background()
	cfg := Config{AppPorts: []int{8080}, EgressIgnoredIPs: []string{"169.254.169.254", "fd00::1"}, EnableIPv6: true}
	f := newFake()
	pristine := f.dump()

	// Removing when nothing is there succeeds and changes nothing.
	if err := Remove(ctx, cfg, f.run); err != nil {
		t.Fatalf("remove when absent: %v", err)
	}
	if err := Apply(ctx, cfg, f.run); err != nil {
		t.Fatalf("apply: %v", err)
	}
	applied := f.dump()
	goldenFile(t, "apply-state", applied)
	// Applying again replaces the rules rather than failing or doubling them.
	if err := Apply(ctx, cfg, f.run); err != nil {
		t.Fatalf("second apply: %v", err)
	}
	if got := f.dump(); got != applied {
		t.Errorf("second apply changed the tables:\n%s\nwant\n%s", got, applied)
	}
	f.log = nil
	if err := Remove(ctx, cfg, f.run); err != nil {
		t.Fatalf("remove: %v", err)
	}
	goldenFile(t, "remove-log", strings.Join(f.log, "\n")+"\n")
	if got := f.dump(); got != pristine {
		t.Errorf("after remove:\n%s\nwant\n%s", got, pristine)
	}
	if err := Remove(ctx, cfg, f.run); err != nil {
		t.Fatalf("second remove: %v", err)
	}
}

func TestApplyRollsBack(t *testing.T) {
	f := newFake()
	pristine := f.dump()
	f.failOn = "REDIRECT --to 15001"
	err := Apply(context.Background(), Config{AppPorts: []int{8080}}, f.run)
	if err == nil || !strings.Contains(err.Error(), "injected failure") || !strings.Contains(err.Error(), "iptables -t nat -A APPMESH_EGRESS") {
		t.Fatalf("apply error = %v, want the failing command and its stderr", err)
	}
	if got := f.dump(); got != pristine {
		t.Errorf("after failed apply:\n%s\nwant\n%s", got, pristine)
	}
}

func TestRemoveReportsRealErrors(t *testing.T) {
	run := func(_ context.Context, c Command) error {
		return &CommandError{Command: c, ExitCode: 4, Stderr: "Permission denied (you must be root)"}
	}
	err := Remove(context.Background(), Config{}, run)
	if err == nil || !strings.Contains(err.Error(), "Permission denied") {
		t.Fatalf("remove error = %v, want the permission error", err)
	}
	missing := PrefixRunner("/nonexistent/iptables-wrapper")
	if err := Remove(context.Background(), Config{}, missing); err == nil {
		t.Fatal("remove with a missing binary succeeded")
	}
}

func TestParse(t *testing.T) {
	if got, err := ParseAppPorts("APPMESH_APP_PORTS", " 8080, 9080:19080,,"); err != nil || !slices.Equal(got, []int{8080, 9080}) {
		t.Errorf("ParseAppPorts = %v, %v", got, err)
	}
	if _, err := ParseInts("APPMESH_IGNORE_UID", "13x7"); err == nil || !strings.Contains(err.Error(), "APPMESH_IGNORE_UID") {
		t.Errorf("ParseInts error = %v", err)
	}
	if got := ParseList(" a, ,b "); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("ParseList = %q", got)
	}
	for s, want := range map[string]bool{"1": true, "enabled": true, "0": false, "": false, "disabled": false} {
		if got, err := ParseBool("x", s); err != nil || got != want {
			t.Errorf("ParseBool(%q) = %v, %v", s, got, err)
		}
	}
	if _, err := ParseBool("APPMESH_ENABLE_IPV6", "maybe"); err == nil {
		t.Error("ParseBool(maybe) succeeded")
	}
}
