package interception

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// App Mesh's defaults.
const (
	DefaultIngressPort = 15000
	DefaultEgressPort  = 15001
	DefaultIgnoreUID   = 1337
	// AlwaysIgnoredPort is ignored on egress even when not listed (SSH).
	AlwaysIgnoredPort = 22

	IngressChain = "APPMESH_INGRESS"
	EgressChain  = "APPMESH_EGRESS"

	// multiportLimit is how many ports one iptables multiport match takes;
	// longer lists are split over several rules (the ECS plugin dropped the
	// rest instead).
	multiportLimit = 15
)

// Config is the interception to install, App Mesh's proxy-init settings.
type Config struct {
	// IngressPort is Envoy's inbound capture port (APPMESH_ENVOY_INGRESS_PORT);
	// 0 means 15000.
	IngressPort int
	// EgressPort is Envoy's outbound capture port (APPMESH_ENVOY_EGRESS_PORT);
	// 0 means 15001.
	EgressPort int
	// IgnoreUIDs and IgnoreGIDs identify Envoy's own traffic, which is never
	// redirected (APPMESH_IGNORE_UID, APPMESH_IGNORE_GID). When both are
	// empty, IgnoreUIDs is [1337].
	IgnoreUIDs []int
	IgnoreGIDs []int
	// AppPorts are the inbound ports redirected to IngressPort: the virtual
	// node's listener ports (APPMESH_APP_PORTS). Empty: no inbound capture.
	AppPorts []int
	// EgressIgnoredIPs are addresses or CIDRs whose outbound traffic bypasses
	// Envoy (APPMESH_EGRESS_IGNORED_IP); IPv6 entries only apply with
	// EnableIPv6.
	EgressIgnoredIPs []string
	// EgressIgnoredPorts are destination ports that bypass Envoy
	// (APPMESH_EGRESS_IGNORED_PORTS); 22 is always among them.
	EgressIgnoredPorts []int
	// EnableIPv6 installs the same rules with ip6tables (APPMESH_ENABLE_IPV6).
	EnableIPv6 bool
}

// Command is one iptables or ip6tables invocation.
type Command struct {
	// Path is "iptables" or "ip6tables" (looked up on PATH by ExecRunner).
	Path string
	Args []string
}

// String renders the command as a shell line.
func (c Command) String() string {
	parts := make([]string, 0, len(c.Args)+1)
	parts = append(parts, c.Path)
	for _, a := range c.Args {
		if a == "" || strings.ContainsAny(a, " \t'\"$\\") {
			a = strconv.Quote(a)
		}
		parts = append(parts, a)
	}
	return strings.Join(parts, " ")
}

// family is one address family's tool and ignored addresses.
type family struct {
	tool string
	ips  []string
}

// normalized is a validated Config with defaults filled in.
type normalized struct {
	Config
	families []family
}

// WithDefaults returns cfg with App Mesh's defaults filled in: the
// capture ports, UID 1337 when no UID or GID is given, port 22 among the
// ignored ports, and repeated ports dropped. It is what Rules installs.
func (cfg Config) WithDefaults() Config {
	if cfg.IngressPort == 0 {
		cfg.IngressPort = DefaultIngressPort
	}
	if cfg.EgressPort == 0 {
		cfg.EgressPort = DefaultEgressPort
	}
	if len(cfg.IgnoreUIDs) == 0 && len(cfg.IgnoreGIDs) == 0 {
		cfg.IgnoreUIDs = []int{DefaultIgnoreUID}
	}
	cfg.AppPorts = uniquePorts(cfg.AppPorts)
	cfg.EgressIgnoredPorts = uniquePorts(append([]int{AlwaysIgnoredPort}, cfg.EgressIgnoredPorts...))
	return cfg
}

// normalize validates cfg and fills defaults; every problem is reported.
func normalize(cfg Config) (normalized, error) {
	var errs []error
	cfg = cfg.WithDefaults()
	checkPort := func(what string, p int) {
		if p < 1 || p > 65535 {
			errs = append(errs, fmt.Errorf("%s %d: want a port in 1..65535", what, p))
		}
	}
	checkPort("ingress port", cfg.IngressPort)
	checkPort("egress port", cfg.EgressPort)
	if cfg.IngressPort == cfg.EgressPort {
		errs = append(errs, fmt.Errorf("ingress and egress port are both %d", cfg.IngressPort))
	}
	for _, p := range cfg.AppPorts {
		checkPort("app port", p)
		if p == cfg.IngressPort || p == cfg.EgressPort {
			errs = append(errs, fmt.Errorf("app port %d is one of Envoy's capture ports", p))
		}
	}
	for _, p := range cfg.EgressIgnoredPorts {
		checkPort("egress ignored port", p)
	}
	for _, id := range cfg.IgnoreUIDs {
		if id < 0 || id > 1<<32-2 {
			errs = append(errs, fmt.Errorf("ignored uid %d: out of range", id))
		}
	}
	for _, id := range cfg.IgnoreGIDs {
		if id < 0 || id > 1<<32-2 {
			errs = append(errs, fmt.Errorf("ignored gid %d: out of range", id))
		}
	}
	var v4, v6 []string
	for _, s := range cfg.EgressIgnoredIPs {
		s = strings.TrimSpace(s)
		var is6 bool
		if strings.Contains(s, "/") {
			p, err := netip.ParsePrefix(s)
			if err != nil {
				errs = append(errs, fmt.Errorf("egress ignored ip %q: not an IP address or CIDR", s))
				continue
			}
			p = p.Masked()
			is6 = !p.Addr().Unmap().Is4()
			if p.Addr().Is4In6() {
				p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
			}
			s = p.String()
		} else {
			a, err := netip.ParseAddr(s)
			if err != nil || a.Zone() != "" {
				errs = append(errs, fmt.Errorf("egress ignored ip %q: not an IP address or CIDR", s))
				continue
			}
			a = a.Unmap()
			is6 = !a.Is4()
			s = a.String()
		}
		if is6 {
			v6 = appendUnique(v6, s)
		} else {
			v4 = appendUnique(v4, s)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return normalized{}, fmt.Errorf("interception config: %w", err)
	}
	n := normalized{Config: cfg, families: []family{{tool: "iptables", ips: v4}}}
	if cfg.EnableIPv6 {
		n.families = append(n.families, family{tool: "ip6tables", ips: v6})
	}
	return n, nil
}

func appendUnique(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

// uniquePorts drops repeats, keeping the first occurrence's order.
func uniquePorts(ports []int) []int {
	var out []int
	for _, p := range ports {
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

func joinInts(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ",")
}

// chunks splits ports into multiport-sized lists.
func chunks(ports []int) [][]int {
	var out [][]int
	for len(ports) > multiportLimit {
		out = append(out, ports[:multiportLimit])
		ports = ports[multiportLimit:]
	}
	if len(ports) > 0 {
		out = append(out, ports)
	}
	return out
}

// The jumps from the built-in chains, shared by Rules and Remove.
func ingressJump() []string {
	return []string{"PREROUTING", "-p", "tcp", "-m", "addrtype", "!", "--src-type", "LOCAL", "-j", IngressChain}
}

func egressJump() []string {
	return []string{"OUTPUT", "-p", "tcp", "-m", "addrtype", "!", "--dst-type", "LOCAL", "-j", EgressChain}
}

// Rules returns the commands that install the interception, IPv4 first,
// then IPv6 when enabled. It runs nothing.
func Rules(cfg Config) ([]Command, error) {
	n, err := normalize(cfg)
	if err != nil {
		return nil, err
	}
	var cmds []Command
	for _, f := range n.families {
		cmds = append(cmds, familyRules(&n, f)...)
	}
	return cmds, nil
}

func familyRules(n *normalized, f family) []Command {
	var cmds []Command
	nat := func(args ...string) {
		cmds = append(cmds, Command{Path: f.tool, Args: append([]string{"-t", "nat"}, args...)})
	}
	// Ingress: the app ports go to Envoy's ingress listener.
	if len(n.AppPorts) > 0 {
		nat("-N", IngressChain)
		for _, ports := range chunks(n.AppPorts) {
			nat("-A", IngressChain, "-p", "tcp", "-m", "multiport", "--dports", joinInts(ports),
				"-j", "REDIRECT", "--to-port", strconv.Itoa(n.IngressPort))
		}
		nat(append([]string{"-A"}, ingressJump()...)...)
	}
	// Egress: everything but Envoy's own traffic and the ignored ports and
	// addresses goes to Envoy's egress listener.
	nat("-N", EgressChain)
	for _, uid := range n.IgnoreUIDs {
		nat("-A", EgressChain, "-m", "owner", "--uid-owner", strconv.Itoa(uid), "-j", "RETURN")
	}
	for _, gid := range n.IgnoreGIDs {
		nat("-A", EgressChain, "-m", "owner", "--gid-owner", strconv.Itoa(gid), "-j", "RETURN")
	}
	for _, ports := range chunks(n.EgressIgnoredPorts) {
		nat("-A", EgressChain, "-p", "tcp", "-m", "multiport", "--dports", joinInts(ports), "-j", "RETURN")
	}
	if len(f.ips) > 0 {
		nat("-A", EgressChain, "-p", "tcp", "-d", strings.Join(f.ips, ","), "-j", "RETURN")
	}
	nat("-A", EgressChain, "-p", "tcp", "-j", "REDIRECT", "--to", strconv.Itoa(n.EgressPort))
	nat(append([]string{"-A"}, egressJump()...)...)
	return cmds
}

// Apply installs the interception. Rules left by an earlier Apply (or by
// App Mesh's proxy-init) are removed first, so Apply can be repeated; if a
// command fails, what was installed is removed again and the error names
// the command. A nil run means ExecRunner.
func Apply(ctx context.Context, cfg Config, run Runner) error {
	if run == nil {
		run = ExecRunner
	}
	cmds, err := Rules(cfg)
	if err != nil {
		return err
	}
	if err := Remove(ctx, cfg, run); err != nil {
		return fmt.Errorf("clear previous interception: %w", err)
	}
	for _, c := range cmds {
		if err := run(ctx, c); err != nil {
			if rerr := Remove(context.WithoutCancel(ctx), cfg, run); rerr != nil {
				err = errors.Join(err, fmt.Errorf("roll back: %w", rerr))
			}
			return err
		}
	}
	return nil
}

// Remove deletes the jumps from PREROUTING and OUTPUT and flushes and
// deletes both chains, for IPv4 and, with EnableIPv6, IPv6. What is absent
// is skipped, so removing twice, or when nothing was applied, succeeds.
// Only the ports and IPv6 setting of cfg matter.
func Remove(ctx context.Context, cfg Config, run Runner) error {
	if run == nil {
		run = ExecRunner
	}
	tools := []string{"iptables"}
	if cfg.EnableIPv6 {
		tools = append(tools, "ip6tables")
	}
	for _, tool := range tools {
		nat := func(args ...string) Command {
			return Command{Path: tool, Args: append([]string{"-t", "nat"}, args...)}
		}
		for _, chain := range []struct {
			name string
			jump []string
		}{{EgressChain, egressJump()}, {IngressChain, ingressJump()}} {
			// Without the chain there is no jump to it (and iptables -C
			// on such a jump is a usage error, not "no such rule").
			ok, err := exists(ctx, run, nat("-S", chain.name))
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
			// Delete every copy of the jump (Apply run twice by hand, say).
			for range 100 {
				ok, err := exists(ctx, run, nat(append([]string{"-C"}, chain.jump...)...))
				if err != nil {
					return err
				}
				if !ok {
					break
				}
				if err := run(ctx, nat(append([]string{"-D"}, chain.jump...)...)); err != nil {
					return err
				}
			}
			if err := run(ctx, nat("-F", chain.name)); err != nil {
				return err
			}
			if err := run(ctx, nat("-X", chain.name)); err != nil {
				return err
			}
		}
	}
	return nil
}

// exists runs a check command (-C rule, -S chain): exit status 1 means
// "no such rule or chain"; any other failure is an error.
func exists(ctx context.Context, run Runner, c Command) (bool, error) {
	err := run(ctx, c)
	if err == nil {
		return true, nil
	}
	var ce *CommandError
	if errors.As(err, &ce) && ce.ExitCode == 1 {
		return false, nil
	}
	return false, err
}
