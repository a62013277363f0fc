package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/trellis-mesh/trellis/internal/interception"
)

// interceptionFlag is one `trellis interception` flag and the App Mesh
// proxy-init variable that supplies its default.
type interceptionFlag struct {
	name, env, def, usage string
}

var interceptionFlags = []interceptionFlag{
	{"ingress-port", "APPMESH_ENVOY_INGRESS_PORT", strconv.Itoa(interception.DefaultIngressPort), "Envoy's inbound capture `port`"},
	{"egress-port", "APPMESH_ENVOY_EGRESS_PORT", strconv.Itoa(interception.DefaultEgressPort), "Envoy's outbound capture `port`"},
	{"ignore-uid", "APPMESH_IGNORE_UID", "", "`uids` whose traffic is not redirected: Envoy's (default 1337 unless --ignore-gid is set)"},
	{"ignore-gid", "APPMESH_IGNORE_GID", "", "`gids` whose traffic is not redirected"},
	{"app-ports", "APPMESH_APP_PORTS", "", "inbound `ports` redirected to the ingress port: the virtual node's listener ports (port or listenerPort:appPort, comma-separated)"},
	{"egress-ignored-ip", "APPMESH_EGRESS_IGNORED_IP", "169.254.169.254,169.254.170.2", "destination `addresses` or CIDRs that bypass Envoy"},
	{"egress-ignored-ports", "APPMESH_EGRESS_IGNORED_PORTS", "", "destination `ports` that bypass Envoy (22 always does)"},
	{"enable-ipv6", "APPMESH_ENABLE_IPV6", "0", "also install the rules with ip6tables (1 or 0)"},
}

func interceptionCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "interception",
		Short: "Install or remove App Mesh's iptables traffic interception (proxy-init)",
		Long: `Install or remove the nat-table chains APPMESH_INGRESS and APPMESH_EGRESS
that App Mesh's proxy-init container (aws-appmesh-proxy-route-manager) and
the EC2 envoy-networking.sh script install: inbound TCP to the app ports goes
to Envoy's ingress listener (15000), outbound TCP that is not Envoy's own
(by UID/GID), not local and not to an ignored port or address goes to its
egress listener (15001). Needs root or CAP_NET_ADMIN in the pod's network
namespace; run Envoy (trellis sidecar) as the ignored UID, 1337 by default.

Every flag defaults to the App Mesh variable named in its help, so an
existing proxyinit definition works unchanged:

  APPMESH_APP_PORTS=9080 APPMESH_IGNORE_UID=1337 trellis interception apply
  trellis interception remove`,
	}
	cmd.AddCommand(interceptionSubcommand("apply", "Install the interception rules (replacing earlier ones)"))
	cmd.AddCommand(interceptionSubcommand("remove", "Remove the interception rules; succeeds when none are installed"))
	return cmd
}

func interceptionSubcommand(verb, short string) *cobra.Command {
	var netns string
	var dryRun bool
	var logLevel, logFormat string
	cmd := &cobra.Command{
		Use:   verb,
		Short: short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := newLogger(logLevel, logFormat)
			if err != nil {
				return err
			}
			cfg, err := interceptionConfig(cmd)
			if err != nil {
				return err
			}
			run := interception.ExecRunner
			if netns != "" {
				run = interception.PrefixRunner("ip", "netns", "exec", netns)
			}
			if dryRun {
				if verb == "remove" {
					return errors.New("--dry-run is only for apply")
				}
				cmds, err := interception.Rules(cfg)
				if err != nil {
					return err
				}
				for _, c := range cmds {
					fmt.Fprintln(cmd.OutOrStdout(), c)
				}
				return nil
			}
			if verb == "remove" {
				if err := interception.Remove(cmd.Context(), cfg, run); err != nil {
					return err
				}
				log.Info("interception removed", "chains", []string{interception.IngressChain, interception.EgressChain},
					"ipv6", cfg.EnableIPv6, "netns", netns)
				return nil
			}
			cmds, err := interception.Rules(cfg)
			if err != nil {
				return err
			}
			if err := interception.Apply(cmd.Context(), cfg, run); err != nil {
				return err
			}
			for _, c := range cmds {
				log.Debug("applied", "command", c.String())
			}
			cfg = cfg.WithDefaults()
			log.Info("interception applied", "ingressPort", cfg.IngressPort, "egressPort", cfg.EgressPort, "appPorts", cfg.AppPorts,
				"ignoreUIDs", cfg.IgnoreUIDs, "ignoreGIDs", cfg.IgnoreGIDs, "egressIgnoredIPs", cfg.EgressIgnoredIPs,
				"egressIgnoredPorts", cfg.EgressIgnoredPorts, "ipv6", cfg.EnableIPv6, "rules", len(cmds), "netns", netns)
			return nil
		},
	}
	f := cmd.Flags()
	for _, fl := range interceptionFlags {
		f.String(fl.name, fl.def, fmt.Sprintf("%s (env %s)", fl.usage, fl.env))
	}
	f.StringVar(&netns, "netns", "", "run the commands in this named network namespace (ip netns exec)")
	if verb == "apply" {
		f.BoolVar(&dryRun, "dry-run", false, "print the iptables commands instead of running them")
	}
	f.StringVar(&logLevel, "log-level", "info", "log level: debug (lists every rule), info, warn, error")
	f.StringVar(&logFormat, "log-format", "text", "log format: text or json")
	return cmd
}

// interceptionConfig reads the flags, each defaulting to its App Mesh
// variable; every problem is reported.
func interceptionConfig(cmd *cobra.Command) (interception.Config, error) {
	value := func(name string) (string, string) {
		for _, fl := range interceptionFlags {
			if fl.name != name {
				continue
			}
			f := cmd.Flags().Lookup(name)
			if f.Changed {
				return f.Value.String(), "--" + name
			}
			if v, ok := os.LookupEnv(fl.env); ok {
				return v, fl.env
			}
			return fl.def, "--" + name
		}
		panic("unknown flag " + name)
	}
	var errs []error
	ints := func(name string, parse func(string, string) ([]int, error)) []int {
		v, from := value(name)
		xs, err := parse(from, v)
		if err != nil {
			errs = append(errs, err)
		}
		return xs
	}
	one := func(name string) int {
		xs := ints(name, interception.ParseInts)
		if len(xs) != 1 || xs[0] < 1 || xs[0] > 65535 {
			_, from := value(name)
			errs = append(errs, fmt.Errorf("%s: want one port in 1..65535", from))
			return 0
		}
		return xs[0]
	}
	var cfg interception.Config
	cfg.IngressPort = one("ingress-port")
	cfg.EgressPort = one("egress-port")
	cfg.IgnoreUIDs = ints("ignore-uid", interception.ParseInts)
	cfg.IgnoreGIDs = ints("ignore-gid", interception.ParseInts)
	cfg.AppPorts = ints("app-ports", interception.ParseAppPorts)
	cfg.EgressIgnoredPorts = ints("egress-ignored-ports", interception.ParseInts)
	ips, _ := value("egress-ignored-ip")
	cfg.EgressIgnoredIPs = interception.ParseList(ips)
	v6, from := value("enable-ipv6")
	var err error
	if cfg.EnableIPv6, err = interception.ParseBool(from, v6); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return cfg, err
	}
	// Validate now, so a bad setting is reported before anything runs.
	if _, err := interception.Rules(cfg); err != nil {
		return cfg, err
	}
	return cfg, nil
}
