package sidecar

import (
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/trellis-mesh/trellis/internal/xdsgen/bootstrap"
)

// MetadataKey is the node metadata key the server reads the proxy shape
// from (docs/envoy.md).
const MetadataKey = "trellis"

// BootstrapConfig maps the sidecar's Config onto the bootstrap renderer's.
func BootstrapConfig(c *Config) bootstrap.Config {
	return bootstrap.Config{
		MetricsService: metricsService(c),

		NodeID:        c.Identity.NodeID,
		Cluster:       c.Identity.Cluster,
		Metadata:      nodeMetadata(&c.Proxy, c.Telemetry.Tracing(), c.Workload),
		AdminAddress:  c.Envoy.AdminAddress,
		AdminPort:     c.Envoy.AdminPort,
		XDSHost:       c.XDS.Host,
		XDSPort:       c.XDS.Port,
		XDSReplicas:   c.XDS.Replicas,
		XDSUnixSocket: c.XDS.UnixSocket,
		Delta:         c.Delta,
		SDSSocketPath: c.SDSSocketPath,
		XDSTLS:        c.Workload.xdsTLS(),
		Telemetry:     c.Telemetry.Telemetry,
	}
}

// metricsService streams Envoy's stats to the server over xds_cluster at
// Envoy's stats_flush_interval (5 s unless ENVOY_STATS_FLUSH_INTERVAL
// sets it), unless NoMetricsSink.
func metricsService(c *Config) *bootstrap.MetricsService {
	if c.NoMetricsSink {
		return nil
	}
	return &bootstrap.MetricsService{}
}

// nodeMetadata describes the proxy under MetadataKey. Unset addresses are
// left out so the server applies its defaults (which depend on the mesh's
// IP preference). tracing asks the server for a tracing block on every
// HTTP manager, so the bootstrap's tracer sees the requests.
// w, when enrolling, adds the trust domain of auto-mTLS SPIFFE ids.
func nodeMetadata(p *ProxyShape, tracing bool, w WorkloadOptions) map[string]any {
	m := map[string]any{
		"interception": p.Interception,
		"ingressPort":  p.IngressPort,
		"egressPort":   p.EgressPort,
	}
	if tracing {
		m["tracing"] = true
	}
	for k, v := range map[string]string{
		"ingressAddress": p.IngressAddress,
		"egressAddress":  p.EgressAddress,
		"appAddress":     p.AppAddress,
	} {
		if v != "" {
			m[k] = v
		}
	}
	if len(p.AppPorts) > 0 {
		m["appPorts"] = formatPortMap(p.AppPorts)
	}
	if w.Enabled() {
		// The auto-mTLS SPIFFE ids (irgen) use the sidecar's trust domain.
		m["trustDomain"] = w.TrustDomain
	}
	return map[string]any{MetadataKey: m}
}

// formatPortMap writes "9080:19080,9090:9090" sorted by listener port.
func formatPortMap(ports map[uint32]uint32) string {
	keys := make([]uint32, 0, len(ports))
	for k := range ports {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	pairs := make([]string, len(keys))
	for i, k := range keys {
		pairs[i] = fmt.Sprintf("%d:%d", k, ports[k])
	}
	return strings.Join(pairs, ",")
}

// RenderBootstrap renders the bootstrap YAML: bootstrap.Build's proxy,
// plus the App Mesh agent's explicit initial_fetch_timeout on LDS and CDS
// (0 = wait for the server forever, so LIVE means configured), plus the
// user's telemetry files merged in; formatted as bootstrap.Render does.
// replaced lists the top-level keys a file replaced, for a warning.
func RenderBootstrap(c *Config) (y []byte, replaced []string, err error) {
	b, err := bootstrap.Build(BootstrapConfig(c))
	if err != nil {
		return nil, nil, fmt.Errorf("render bootstrap: %w", err)
	}
	timeout := durationpb.New(c.Envoy.InitialFetchTimeout)
	b.DynamicResources.LdsConfig.InitialFetchTimeout = timeout
	b.DynamicResources.CdsConfig.InitialFetchTimeout = timeout
	if err := b.ValidateAll(); err != nil {
		return nil, nil, fmt.Errorf("render bootstrap: %w", err)
	}
	if len(c.Telemetry.Files) > 0 {
		frags, err := c.Telemetry.fragments()
		if err != nil {
			return nil, nil, fmt.Errorf("render bootstrap: %w", err)
		}
		if b, replaced, err = bootstrap.Merge(b, frags); err != nil {
			return nil, nil, fmt.Errorf("render bootstrap: %w", err)
		}
	}
	if y, err = bootstrap.Marshal(b); err != nil {
		return nil, nil, fmt.Errorf("render bootstrap: %w", err)
	}
	return y, replaced, nil
}

// prepareBootstrap returns the path Envoy starts from and a cleanup that
// removes what this call created. An existing non-empty config file is
// used verbatim; otherwise the rendered bootstrap goes to the config file
// or to a new temporary file.
func prepareBootstrap(c *Config, log *slog.Logger) (string, func(), error) {
	if c.Envoy.UseConfigFile {
		log.Info("using bootstrap file as is", "path", c.Envoy.ConfigFile)
		return c.Envoy.ConfigFile, func() {}, nil
	}
	y, replaced, err := RenderBootstrap(c)
	if err != nil {
		return "", nil, err
	}
	if len(replaced) > 0 {
		log.Warn("telemetry files replaced rendered bootstrap keys", "keys", replaced)
	}
	if c.Envoy.ConfigFile != "" {
		if err := os.WriteFile(c.Envoy.ConfigFile, y, 0o600); err != nil {
			return "", nil, fmt.Errorf("write bootstrap: %w", err)
		}
		log.Info("rendered bootstrap", "path", c.Envoy.ConfigFile)
		return c.Envoy.ConfigFile, func() {}, nil
	}
	f, err := os.CreateTemp("", "trellis-envoy-*.yaml")
	if err != nil {
		return "", nil, fmt.Errorf("write bootstrap: %w", err)
	}
	cleanup := func() { os.Remove(f.Name()) }
	if _, err := f.Write(y); err != nil {
		f.Close()
		cleanup()
		return "", nil, fmt.Errorf("write bootstrap: %w", err)
	}
	if err := f.Close(); err != nil {
		cleanup()
		return "", nil, fmt.Errorf("write bootstrap: %w", err)
	}
	log.Info("rendered bootstrap", "path", f.Name())
	return f.Name(), cleanup, nil
}

// envoyArgs is App Mesh's command line: -c file -l level --drain-time-s N
// --disable-hot-restart [--concurrency N].
func envoyArgs(c *Config, bootstrapPath string) []string {
	args := []string{
		"-c", bootstrapPath,
		"-l", c.Envoy.LogLevel,
		"--drain-time-s", strconv.Itoa(int(c.Envoy.DrainTime.Seconds())),
		"--disable-hot-restart",
	}
	if c.Envoy.Concurrency > 0 {
		args = append(args, "--concurrency", strconv.Itoa(c.Envoy.Concurrency))
	}
	return args
}

// adminURL is where the agent reaches Envoy's admin API: the bind address,
// or loopback when Envoy binds every interface.
func adminURL(c *Config) string {
	host := c.Envoy.AdminAddress
	if a, err := netip.ParseAddr(host); host == "" || err == nil && a.IsUnspecified() {
		host = "127.0.0.1"
		if err == nil && a.Is6() {
			host = "::1"
		}
	}
	return "http://" + net.JoinHostPort(host, strconv.FormatUint(uint64(c.Envoy.AdminPort), 10))
}
