package sidecar

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/trellis-mesh/trellis/internal/xdsgen/bootstrap"
)

// Defaults, App Mesh's where App Mesh had one.
const (
	DefaultXDSAddress   = "127.0.0.1:9081" // trellis server's --xds-addr default
	DefaultAdminAddress = "127.0.0.1"      // App Mesh bound 0.0.0.0; the admin API can stop the proxy
	DefaultAdminPort    = 9901
	DefaultAgentAddr    = "127.0.0.1:9902" // App Mesh agent's HTTP port
	DefaultLogLevel     = "info"
	DefaultDrainTime    = 20 * time.Second
	MinDrainTime        = 5 * time.Second // App Mesh's accepted range for LISTENER_DRAIN_WAIT_TIME_S
	MaxDrainTime        = 110 * time.Second
	DefaultMaxRestarts  = 3 // APPNET_ENVOY_RESTART_COUNT default of the open-source agent
	DefaultIngressPort  = 15000
	DefaultEgressPort   = 15001

	InterceptionIPTables = "iptables"
	InterceptionNone     = "none"
)

// Config is everything Run needs. Load fills it from flags and the
// environment; tests may also build one directly.
type Config struct {
	Identity Identity

	// XDS locates the Trellis server: Host and Port, or UnixSocket.
	XDS XDSTarget
	// Delta selects incremental xDS.
	Delta bool
	// SDSSocketPath adds the App Mesh SDS cluster (APPMESH_SDS_SOCKET_PATH).
	SDSSocketPath string
	// Workload enrols with the built-in CA and serves SDS (workload.go).
	Workload WorkloadOptions
	// NoMetricsSink leaves out the metrics_service stats sink that streams
	// Envoy's stats to the server's live golden signals.
	NoMetricsSink bool

	Envoy EnvoyOptions
	Proxy ProxyShape
	// Telemetry is stats tags, sinks and tracing (telemetry.go).
	Telemetry TelemetryOptions

	// AgentAddr is where the agent serves /ready and /status.
	AgentAddr string

	// Ignored lists App Mesh environment variables that were set but are
	// not supported; Run logs them once.
	Ignored []string
	// Warnings are adjustments Load made (clamped values); Run logs them.
	Warnings []string

	// Logger receives the sidecar's and Envoy's logs; nil discards.
	Logger *slog.Logger
	// Registry configures service registration over the server's API;
	// it is used when Registrar is nil.
	Registry RegistryOptions
	// Registrar is told when the instance is ready and when it leaves;
	// nil means a Cloud Map registrar when Registry.APIEndpoint is set,
	// else NopRegistrar.
	Registrar Registrar
	// Backoff shapes restarts after an unexpected Envoy exit; zero
	// fields take DefaultBackoff's.
	Backoff Backoff
	// StopTimeout is how long Envoy gets after SIGTERM before SIGKILL
	// (default 2 s).
	StopTimeout time.Duration
	// Stdout and Stderr receive Envoy's stdout and stderr byte for byte
	// (nil: the sidecar's own). Envoy's access logs to /dev/stdout and its
	// log lines are never rewrapped or filtered by the agent's log level;
	// the agent's own structured log goes through Logger.
	Stdout, Stderr io.Writer
}

// XDSTarget is the control plane's address: Host and Port (plus any
// Replicas of the same control plane, which Envoy fails over between), or
// UnixSocket.
type XDSTarget struct {
	Host       string
	Port       uint32
	Replicas   []bootstrap.HostPort
	UnixSocket string
}

// EnvoyOptions shape the Envoy process.
type EnvoyOptions struct {
	// Path of the envoy binary; empty means "envoy" on PATH.
	Path         string
	AdminAddress string
	AdminPort    uint32
	LogLevel     string
	// Concurrency is --concurrency; 0 leaves Envoy's default (one worker
	// per CPU).
	Concurrency int
	// DrainTime is --drain-time-s and the longest the sidecar waits for
	// connections to finish on shutdown.
	DrainTime time.Duration
	// InitialFetchTimeout bounds the wait for the first LDS/CDS answer;
	// 0 waits forever (App Mesh's default), so Envoy only turns LIVE once
	// the server has configured it.
	InitialFetchTimeout time.Duration
	// ConfigFile is where the bootstrap goes; empty means a temporary
	// file. UseConfigFile: the file existed non-empty and is used as is
	// (App Mesh's rule); the agent still probes the admin API at
	// AdminAddress:AdminPort, so such a bootstrap must bind it there.
	ConfigFile    string
	UseConfigFile bool
	// MaxRestarts is how many unexpected exits are followed by a restart.
	MaxRestarts int
}

// ProxyShape is sent as node metadata "trellis" (see docs/envoy.md).
type ProxyShape struct {
	Interception   string // InterceptionIPTables or InterceptionNone
	IngressPort    uint32
	EgressPort     uint32
	IngressAddress string // empty: server default (0.0.0.0)
	EgressAddress  string
	AppAddress     string
	// AppPorts maps virtual-node listener ports to the app's real ports.
	AppPorts map[uint32]uint32
}

// Source is where Load reads settings: command-line flags that were given
// (name without dashes → value) and an environment lookup.
type Source struct {
	Flags map[string]string
	Env   func(string) (string, bool)
}

// OSSource reads the process environment, with the given flags.
func OSSource(flags map[string]string) Source {
	return Source{Flags: flags, Env: os.LookupEnv}
}

// FlagSpec describes one command-line flag Load understands. The command
// registers them as strings (Bool ones as booleans) and passes the ones the
// user set in Source.Flags, so flags win over the environment.
type FlagSpec struct {
	Name  string
	Usage string
	Bool  bool
}

// Flags lists the sidecar's flags in help order.
func Flags() []FlagSpec {
	return append([]FlagSpec{
		{Name: "mesh", Usage: "mesh name (with --virtual-node or --virtual-gateway); else APPMESH_RESOURCE_ARN"},
		{Name: "virtual-node", Usage: "virtual node this proxy stands for"},
		{Name: "virtual-gateway", Usage: "virtual gateway this proxy stands for"},
		{Name: "node-cluster", Usage: "Envoy node.cluster (env APPMESH_RESOURCE_CLUSTER; default the node id)"},
		{Name: "xds-address", Usage: "control plane xDS `address`: host:port, a comma-separated list of replicas host:port,host:port (Envoy fails over between them; a DNS name with several addresses works too), or unix:///path (env TRELLIS_XDS_ADDRESS, APPMESH_XDS_ENDPOINT; default " + DefaultXDSAddress + ")"},
		{Name: "delta", Usage: "use incremental (delta) xDS (env TRELLIS_XDS_DELTA)", Bool: true},
		{Name: "sds-socket", Usage: "Unix socket of a local SDS server (env APPMESH_SDS_SOCKET_PATH)"},
		{Name: "no-metrics-sink", Usage: "do not stream Envoy stats to the server's live golden signals (env TRELLIS_NO_METRICS_SINK)", Bool: true},
		{Name: "envoy-path", Usage: "envoy binary (default: envoy on PATH)"},
		{Name: "admin-address", Usage: "Envoy admin bind address (default " + DefaultAdminAddress + ")"},
		{Name: "admin-port", Usage: "Envoy admin `port` (env ENVOY_ADMIN_ACCESS_PORT; default 9901)"},
		{Name: "envoy-log-level", Usage: "Envoy log `level`: trace, debug, info, warning, error, critical, off (env ENVOY_LOG_LEVEL; default info)"},
		{Name: "concurrency", Usage: "Envoy worker `threads` (env ENVOY_CONCURRENCY; default one per CPU)"},
		{Name: "drain-time", Usage: "drain time on shutdown, `seconds` or a duration, 5s..110s (env LISTENER_DRAIN_WAIT_TIME_S; default 20)"},
		{Name: "initial-fetch-timeout", Usage: "`seconds` Envoy waits for its first config, 0 = forever (env ENVOY_INITIAL_FETCH_TIMEOUT; default 0)"},
		{Name: "config-file", Usage: "bootstrap path; used as is when it exists and is not empty (env ENVOY_CONFIG_FILE; default a temp file)"},
		{Name: "max-restarts", Usage: "`restarts` after Envoy exits unexpectedly before giving up (env APPNET_ENVOY_RESTART_COUNT; default 3)"},
		{Name: "interception", Usage: "traffic capture: iptables (App Mesh's shape) or none (default iptables)"},
		{Name: "ingress-port", Usage: "inbound capture `port` (env APPMESH_ENVOY_INGRESS_PORT; default 15000)"},
		{Name: "egress-port", Usage: "outbound capture `port` (env APPMESH_ENVOY_EGRESS_PORT; default 15001)"},
		{Name: "ingress-address", Usage: "bind address of ingress listeners (default 0.0.0.0)"},
		{Name: "egress-address", Usage: "bind address of egress listeners (default 0.0.0.0)"},
		{Name: "app-address", Usage: "address of the local app (default 127.0.0.1)"},
		{Name: "app-ports", Usage: "listenerPort:appPort,... or port,... (env APPMESH_APP_PORTS)"},
		{Name: "agent-addr", Usage: "agent HTTP `host:port` serving /ready and /status (env APPNET_AGENT_HTTP_PORT; default " + DefaultAgentAddr + ")"},
		{Name: "api-endpoint", Usage: "Trellis API `URL` for registering awsCloudMap instances, e.g. http://trellis:9080 (env TRELLIS_API_ENDPOINT; unset: no registration)"},
		{Name: "instance-ip", Usage: "IPv4 registered for this instance (env TRELLIS_INSTANCE_IP; default the ingress address, else the host's first non-loopback IPv4)"},
		{Name: "instance-id", Usage: "registry instance `id` (env TRELLIS_INSTANCE_ID; default hostname-pid)"},
		{Name: "heartbeat-interval", Usage: "re-registration interval, `seconds` or a duration (env TRELLIS_HEARTBEAT_INTERVAL; default 10)"},
	}, workloadFlags()...)
}

// Load resolves a Config: a flag when given, else the first non-empty
// environment variable, else the default. Every problem is reported, each
// naming the flag or variable it came from.
func Load(src Source) (Config, error) {
	if src.Env == nil {
		src.Env = func(string) (string, bool) { return "", false }
	}
	r := &resolver{src: src}
	c := Config{Identity: r.identity()}
	c.XDS = r.xdsTarget()
	c.Delta = r.boolean("delta", "TRELLIS_XDS_DELTA")
	c.NoMetricsSink = r.boolean("no-metrics-sink", "TRELLIS_NO_METRICS_SINK")
	c.SDSSocketPath, _, _ = r.lookup("sds-socket", "APPMESH_SDS_SOCKET_PATH")
	c.Envoy = r.envoyOptions()
	c.Proxy = r.proxyShape()
	c.Telemetry = r.telemetry(c.Identity)
	c.AgentAddr = r.agentAddr()
	c.Registry = r.registry()
	c.Workload = r.workload(c.Registry.APIEndpoint)
	c.Ignored = unsupportedEnv(src.Env)
	c.Warnings = r.warnings
	if err := errors.Join(r.errs...); err != nil {
		return Config{}, fmt.Errorf("sidecar config: %w", err)
	}
	return c, nil
}

func (r *resolver) envoyOptions() EnvoyOptions {
	e := EnvoyOptions{
		AdminAddress: r.ip("admin-address", DefaultAdminAddress),
		AdminPort:    r.port("admin-port", DefaultAdminPort, "ENVOY_ADMIN_ACCESS_PORT"),
		LogLevel:     r.logLevel(),
		Concurrency:  r.integer("concurrency", 0, 1, 1024, "ENVOY_CONCURRENCY"),
		DrainTime:    r.drainTime(),
		MaxRestarts:  r.integer("max-restarts", DefaultMaxRestarts, 0, 1000, "APPNET_ENVOY_RESTART_COUNT"),
	}
	e.Path, _, _ = r.flag("envoy-path")
	e.InitialFetchTimeout = r.seconds("initial-fetch-timeout", 0, "ENVOY_INITIAL_FETCH_TIMEOUT")
	e.ConfigFile, e.UseConfigFile = r.configFile()
	return e
}

func (r *resolver) proxyShape() ProxyShape {
	p := ProxyShape{
		Interception:   r.interception(),
		IngressPort:    r.port("ingress-port", DefaultIngressPort, "APPMESH_ENVOY_INGRESS_PORT"),
		EgressPort:     r.port("egress-port", DefaultEgressPort, "APPMESH_ENVOY_EGRESS_PORT"),
		IngressAddress: r.ip("ingress-address", ""),
		EgressAddress:  r.ip("egress-address", ""),
		AppAddress:     r.ip("app-address", ""),
		AppPorts:       r.appPorts(),
	}
	if p.Interception == InterceptionIPTables && p.IngressPort == p.EgressPort && p.IngressPort != 0 {
		r.errs = append(r.errs, fmt.Errorf("ingress and egress ports are both %d", p.IngressPort))
	}
	return p
}

// configFile applies App Mesh's ENVOY_CONFIG_FILE rule: an existing
// non-empty file is the bootstrap; an empty or missing one is where the
// rendered bootstrap goes.
func (r *resolver) configFile() (string, bool) {
	path, from, ok := r.lookup("config-file", "ENVOY_CONFIG_FILE")
	if !ok {
		return "", false
	}
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return path, false
	case err != nil:
		r.errs = append(r.errs, fmt.Errorf("%s: %w", from, err))
		return "", false
	case fi.IsDir():
		r.errs = append(r.errs, fmt.Errorf("%s=%q is a directory, want a bootstrap file", from, path))
		return "", false
	}
	return path, fi.Size() > 0
}

// unsupported are App Mesh image variables that change what Envoy does but
// that this sidecar does not implement (the metrics extension, bootstrap
// merges, Unix-socket admin; docs/telemetry.md says why for telemetry). A
// variable counts when set to anything but its harmless value: false for
// booleans, or the given one.
var unsupported = []struct {
	name     string
	boolean  bool
	harmless string
}{
	{name: "APPMESH_METRIC_EXTENSION_VERSION", harmless: "0"},
	{name: "ENABLE_STATS_SNAPSHOT", boolean: true},
	{name: "ENVOY_RESOURCES_CONFIG_FILE"},
	{name: "ENVOY_ADMIN_MODE", harmless: "tcp"},
	{name: "ENVOY_ADMIN_ACCESS_ENABLE_IPV6", boolean: true},
	{name: "ENVOY_ADMIN_ACCESS_LOG_FILE"},
	{name: "APPNET_AGENT_ADMIN_MODE", harmless: "tcp"},
	{name: "MAX_REQUESTS_PER_IO_CYCLE"},
	{name: "APPMESH_DUALSTACK_ENDPOINT", boolean: true},
	{name: "APPMESH_PREVIEW", boolean: true},
}

func unsupportedEnv(env func(string) (string, bool)) []string {
	var out []string
	for _, u := range unsupported {
		v, ok := env(u.name)
		switch {
		case !ok || v == "" || v == u.harmless:
		case u.boolean && isFalse(v):
		default:
			out = append(out, u.name)
		}
	}
	return out
}
