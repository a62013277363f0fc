package sidecar

import (
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/trellis-mesh/trellis/internal/xdsgen/bootstrap"
)

// Telemetry defaults: App Mesh's, and the OpenTelemetry SDK's for OTLP.
const (
	DefaultStatsDAddress  = "127.0.0.1"
	DefaultStatsDPort     = 8125
	DefaultXRayAddress    = "127.0.0.1"
	DefaultXRayPort       = 2000
	DefaultJaegerAddress  = "127.0.0.1"
	DefaultJaegerPort     = 9411
	DefaultDatadogAddress = "127.0.0.1"
	DefaultDatadogPort    = 8126
	DefaultOTLPEndpoint   = "127.0.0.1:4317"
	// xrayDefaultRate is X-Ray's own default; the agent wrote no rules
	// for it.
	xrayDefaultRate = 0.05
)

// TelemetryOptions are the bootstrap's stats and tracing parts, from App
// Mesh's ENABLE_ENVOY_* variables (docs/telemetry.md).
type TelemetryOptions struct {
	bootstrap.Telemetry
	// Files are the user's bootstrap fragments, merged in this order:
	// ENVOY_TRACING_CFG_FILE, ENVOY_STATS_CONFIG_FILE,
	// ENVOY_STATS_SINKS_CFG_FILE.
	Files []TelemetryFile
}

// TelemetryFile is one fragment file and the variable that named it.
type TelemetryFile struct {
	Var, Path string
}

// Tracing reports whether the proxy traces: a generated tracer or a
// tracing file. The server then adds a tracing block to every HTTP
// manager (node metadata trellis.tracing).
func (t *TelemetryOptions) Tracing() bool {
	if t.Tracer != nil {
		return true
	}
	for _, f := range t.Files {
		if f.Var == "ENVOY_TRACING_CFG_FILE" {
			return true
		}
	}
	return false
}

// logAttrs summarises what is switched on, for the start-up log line.
func (t *TelemetryOptions) logAttrs() []any {
	var out []any
	for _, tag := range t.StatsTags {
		if tag.Regex == "" {
			out = append(out, "tag."+tag.Name, tag.Value)
		}
	}
	if t.FlushInterval > 0 {
		out = append(out, "statsFlushInterval", t.FlushInterval)
	}
	if d := t.DogStatsD; d != nil {
		addr := d.SocketPath
		if addr == "" {
			addr = net.JoinHostPort(d.Host, strconv.FormatUint(uint64(d.Port), 10))
		}
		out = append(out, "dogstatsd", addr)
	}
	if tr := t.Tracer; tr != nil {
		out = append(out, "tracer", string(tr.Kind),
			"collector", net.JoinHostPort(tr.Host, strconv.FormatUint(uint64(tr.Port), 10)), "service", tr.ServiceName)
	}
	for _, f := range t.Files {
		out = append(out, f.Var, f.Path)
	}
	return out
}

// fragments reads the files.
func (t *TelemetryOptions) fragments() ([]bootstrap.Fragment, error) {
	out := make([]bootstrap.Fragment, 0, len(t.Files))
	for _, f := range t.Files {
		data, err := os.ReadFile(f.Path)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.Var, err)
		}
		out = append(out, bootstrap.Fragment{
			Name:      f.Var + "=" + f.Path,
			Data:      data,
			NeedSinks: f.Var == "ENVOY_STATS_SINKS_CFG_FILE",
		})
	}
	return out, nil
}

// telemetry resolves the variables as App Mesh's agent did: a file
// variable switches off what it replaces (tracing file → no generated
// tracer, stats config file → no generated tags, sinks file → no
// DogStatsD), and only one tracer may be enabled.
func (r *resolver) telemetry(id Identity) TelemetryOptions {
	var t TelemetryOptions
	for _, v := range []string{"ENVOY_TRACING_CFG_FILE", "ENVOY_STATS_CONFIG_FILE", "ENVOY_STATS_SINKS_CFG_FILE"} {
		if p, _, ok := r.lookup("", v); ok {
			t.Files = append(t.Files, TelemetryFile{Var: v, Path: p})
		}
	}
	has := func(v string) bool { _, _, ok := r.lookup("", v); return ok }
	if !has("ENVOY_STATS_CONFIG_FILE") {
		if r.boolean("", "ENABLE_ENVOY_STATS_TAGS") && id.Mesh != "" {
			kind := "appmesh.virtual_node"
			if id.IsGateway() {
				kind = "appmesh.virtual_gateway"
			}
			t.StatsTags = []bootstrap.StatsTag{{Name: "appmesh.mesh", Value: id.Mesh}, {Name: kind, Value: id.Name}}
		}
		t.StatsTags = append(t.StatsTags, bootstrap.ListenerTags...)
	}
	if v, from, ok := r.lookup("", "ENVOY_STATS_FLUSH_INTERVAL"); ok {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			r.fail(from, v, "want a positive duration such as 5000ms or 10s")
		}
		t.FlushInterval = max(d, 0)
	}
	if !has("ENVOY_STATS_SINKS_CFG_FILE") && r.boolean("", "ENABLE_ENVOY_DOG_STATSD") {
		t.DogStatsD = r.dogStatsD()
	}
	if !has("ENVOY_TRACING_CFG_FILE") {
		t.Tracer = r.tracer(id)
	}
	return t
}

func (r *resolver) dogStatsD() *bootstrap.DogStatsD {
	if p, _, ok := r.lookup("", "STATSD_SOCKET_PATH"); ok {
		return &bootstrap.DogStatsD{SocketPath: p}
	}
	host, from, ok := r.lookup("", "STATSD_ADDRESS")
	if !ok {
		host = DefaultStatsDAddress
	} else if _, err := netip.ParseAddr(host); err != nil {
		r.fail(from, host, "must be an IP address (Envoy's DogStatsD sink does not resolve names)")
	}
	return &bootstrap.DogStatsD{Host: host, Port: r.port("", DefaultStatsDPort, "STATSD_PORT")}
}

// tracer returns the one enabled tracer, or nil.
func (r *resolver) tracer(id Identity) *bootstrap.Tracer {
	tracers := []struct {
		env   string
		build func(Identity) *bootstrap.Tracer
	}{
		{"ENABLE_ENVOY_XRAY_TRACING", r.xray},
		{"ENABLE_ENVOY_DATADOG_TRACING", r.datadog},
		{"ENABLE_ENVOY_JAEGER_TRACING", r.jaeger},
		{"ENABLE_ENVOY_OTEL_TRACING", r.otel},
	}
	var on []string
	var build func(Identity) *bootstrap.Tracer
	for _, tr := range tracers {
		if r.boolean("", tr.env) {
			on = append(on, tr.env)
			build = tr.build
		}
	}
	switch len(on) {
	case 0:
		return nil
	case 1:
		return build(id)
	}
	r.errs = append(r.errs, fmt.Errorf("only one tracer can be enabled, got %s", strings.Join(on, ", ")))
	return nil
}

// meshName is App Mesh's <mesh>/<resource> service and segment name.
func meshName(id Identity) string { return id.Mesh + "/" + id.Name }

func (r *resolver) xray(id Identity) *bootstrap.Tracer {
	t := &bootstrap.Tracer{Kind: bootstrap.TracerXRay, Host: DefaultXRayAddress,
		Port: r.port("", DefaultXRayPort, "XRAY_DAEMON_PORT"), ServiceName: id.Cluster}
	if v, from, ok := r.lookup("", "AWS_XRAY_DAEMON_ADDRESS"); ok {
		// host:port takes priority over XRAY_DAEMON_PORT, as in the agent.
		host, port := v, ""
		if h, p, err := net.SplitHostPort(v); err == nil {
			host, port = h, p
		}
		if _, err := netip.ParseAddr(host); err != nil {
			r.fail(from, v, "must be an IP address, optionally with :port (X-Ray sends UDP straight to it)")
		}
		t.Host = host
		if port != "" {
			n, err := strconv.ParseUint(port, 10, 16)
			if err != nil || n == 0 {
				r.fail(from, v, "bad port")
			}
			t.Port = uint32(n)
		}
	}
	if id.Mesh != "" {
		t.ServiceName = meshName(id)
		t.XRay.Mesh, t.XRay.Node = id.Mesh, id.Name
	}
	if v, _, ok := r.lookup("", "XRAY_SEGMENT_NAME"); ok {
		t.ServiceName = v
	}
	r.xraySampling(&t.XRay)
	return t
}

// xraySampling applies XRAY_SAMPLING_RULE_MANIFEST (a version 2 rules
// file) or else XRAY_SAMPLING_RATE (0..1, rounded to 2 decimals; 0.05 is
// X-Ray's default and writes no rules).
func (r *resolver) xraySampling(x *bootstrap.XRaySettings) {
	if v, from, ok := r.lookup("", "XRAY_SAMPLING_RULE_MANIFEST"); ok {
		data, err := os.ReadFile(v)
		if err != nil {
			r.errs = append(r.errs, fmt.Errorf("%s: %w", from, err))
			return
		}
		var m struct {
			Version int             `json:"version"`
			Default json.RawMessage `json:"default"`
		}
		switch err := json.Unmarshal(data, &m); {
		case err != nil:
			r.fail(from, v, "not a JSON sampling rule manifest: %v", err)
		case m.Version != 2 || m.Default == nil:
			r.fail(from, v, "want a version 2 manifest with a default rule (Envoy does not read version 1)")
		default:
			x.SamplingRuleManifest = v
		}
		return
	}
	v, from, ok := r.lookup("", "XRAY_SAMPLING_RATE")
	if !ok {
		return
	}
	rate, err := strconv.ParseFloat(v, 64)
	if err != nil || rate < 0 || rate > 1 {
		r.fail(from, v, "want a decimal between 0 and 1.00")
		return
	}
	rate = math.Round(rate*100) / 100
	if rate == xrayDefaultRate {
		return
	}
	x.SamplingRules = fmt.Sprintf(`{"version":2,"default":{"fixed_target":1,"rate":%s},"rules":[]}`,
		strconv.FormatFloat(rate, 'f', -1, 64))
}

func (r *resolver) jaeger(id Identity) *bootstrap.Tracer {
	host, _, _ := r.lookup("", "JAEGER_TRACER_ADDRESS")
	if host == "" {
		host = DefaultJaegerAddress
	}
	version, _, _ := r.lookup("", "JAEGER_TRACER_VERSION")
	return &bootstrap.Tracer{Kind: bootstrap.TracerZipkin, Host: host,
		Port:       r.port("", DefaultJaegerPort, "JAEGER_TRACER_PORT"),
		ZipkinJSON: strings.Contains(strings.ToLower(version), "json")}
}

func (r *resolver) datadog(id Identity) *bootstrap.Tracer {
	host, _, _ := r.lookup("", "DATADOG_TRACER_ADDRESS")
	if host == "" {
		host = DefaultDatadogAddress
	}
	service := "envoy"
	if id.Mesh != "" {
		service = "envoy-" + meshName(id)
	}
	if v, _, ok := r.lookup("", "DD_SERVICE"); ok {
		service = v
	}
	return &bootstrap.Tracer{Kind: bootstrap.TracerDatadog, Host: host,
		Port: r.port("", DefaultDatadogPort, "DATADOG_TRACER_PORT"), ServiceName: service}
}

// otel is beyond App Mesh: OTLP over plaintext gRPC to
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT
// (host:port or http://host:port), service OTEL_SERVICE_NAME or
// <mesh>/<resource>.
func (r *resolver) otel(id Identity) *bootstrap.Tracer {
	t := &bootstrap.Tracer{Kind: bootstrap.TracerOpenTelemetry, ServiceName: meshName(id)}
	if v, _, ok := r.lookup("", "OTEL_SERVICE_NAME"); ok {
		t.ServiceName = v
	}
	v, from, ok := r.lookup("", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
	if !ok {
		v, from = DefaultOTLPEndpoint, "default"
	}
	hostport := v
	if strings.Contains(v, "://") {
		u, err := url.Parse(v)
		if err != nil || u.Scheme != "http" || u.Host == "" || strings.Trim(u.Path, "/") != "" {
			r.fail(from, v, "want host:port or http://host:port (plaintext gRPC; TLS to the collector is not supported)")
			return t
		}
		hostport = u.Host
	}
	host, port, err := net.SplitHostPort(hostport)
	n, perr := strconv.ParseUint(port, 10, 16)
	if err != nil || perr != nil || n == 0 || host == "" {
		r.fail(from, v, "want host:port")
		return t
	}
	t.Host, t.Port = host, uint32(n)
	return t
}
