package bootstrap

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	metricsv3 "github.com/envoyproxy/go-control-plane/envoy/config/metrics/v3"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
)

// Names of the static clusters tracers report through. "jaeger" and
// "datadog_agent" are the names App Mesh's agent used.
const (
	ZipkinCluster  = "jaeger"
	DatadogCluster = "datadog_agent"
	OTelCluster    = "opentelemetry_collector"
)

// Telemetry switches on the stats and tracing parts of the bootstrap, as
// App Mesh's agent rendered them from its ENABLE_ENVOY_* variables. The
// zero value renders none of them.
type Telemetry struct {
	// StatsTags are tags on every stat, in this order
	// (stats_config.stats_tags).
	StatsTags []StatsTag
	// FlushInterval is stats_flush_interval; 0 leaves Envoy's 5 s.
	FlushInterval time.Duration
	// DogStatsD adds an envoy.stat_sinks.dog_statsd sink.
	DogStatsD *DogStatsD
	// Tracer is the bootstrap's one HTTP tracer. Envoy only traces on
	// HTTP managers that carry a tracing block, which the control plane
	// sets when the node metadata asks for it.
	Tracer *Tracer
}

// ListenerTags are the tags App Mesh's agent always added (unless
// ENVOY_STATS_CONFIG_FILE was set): the protocol and port of an
// ingress.<protocol>.<port> stat prefix, which a node or gateway with
// several listeners has, and the route configuration of its RDS stats.
var ListenerTags = []StatsTag{
	{Name: "appmesh.listener_protocol", Regex: `.*?\.ingress\.((\w+?)\.)[0-9]+?\.(.+?)$`},
	{Name: "appmesh.listener_port", Regex: `.*?\.ingress\.\w+?\.(([0-9]+?)\.)(.+?)$`},
	{Name: "envoy_rds_route_config", Regex: `.*?\.ingress\.\w+?\.[0-9]+?\.rds\.((.*?)\.)(.+?)$`},
}

// StatsTag is one tag: Name=Value on every stat, or, when Regex is set,
// Name=<the regex's second capture group> on stats whose name matches it
// (the first group is cut out of the name; Envoy's TagSpecifier.regex).
type StatsTag struct{ Name, Value, Regex string }

// DogStatsD locates the DogStatsD agent: UDP Host:Port, or a Unix
// datagram socket when SocketPath is set.
type DogStatsD struct {
	Host       string
	Port       uint32
	SocketPath string
}

// TracerKind names a tracing driver.
type TracerKind string

// The tracing drivers.
const (
	TracerXRay          TracerKind = "xray"
	TracerZipkin        TracerKind = "zipkin"
	TracerDatadog       TracerKind = "datadog"
	TracerOpenTelemetry TracerKind = "opentelemetry"
)

// Tracer is where spans go. Host must be an IP for X-Ray (Envoy sends
// UDP datagrams straight to it); the other drivers resolve names.
type Tracer struct {
	Kind TracerKind
	Host string
	Port uint32
	// ServiceName is the X-Ray segment name, the Datadog and
	// OpenTelemetry service name; Zipkin names spans by node.cluster.
	ServiceName string
	// ZipkinJSON selects HTTP_JSON over HTTP_PROTO for Zipkin.
	ZipkinJSON bool
	// XRay holds the X-Ray-only settings.
	XRay XRaySettings
}

// XRaySettings are X-Ray's segment fields and sampling.
type XRaySettings struct {
	// Mesh and Node fill segment_fields.aws.app_mesh (mesh_name,
	// virtual_node_name), which the daemon passes on as is.
	Mesh, Node string
	// SamplingRuleManifest is a file with X-Ray sampling rules (version
	// 2); SamplingRules is the same inline. At most one is set; neither
	// means X-Ray's default (1 req/s, then 5 %).
	SamplingRuleManifest string
	SamplingRules        string
}

func (t *Telemetry) check() error {
	for _, tag := range t.StatsTags {
		if tag.Name == "" {
			return errors.New("stats tag with an empty name")
		}
		if tag.Regex != "" && tag.Value != "" {
			return fmt.Errorf("stats tag %s: a fixed value and a regex are exclusive", tag.Name)
		}
	}
	if t.FlushInterval < 0 {
		return fmt.Errorf("negative stats flush interval %v", t.FlushInterval)
	}
	if d := t.DogStatsD; d != nil && d.SocketPath == "" && (d.Host == "" || d.Port == 0) {
		return errors.New("dogstatsd needs a socket path or a host and port")
	}
	if tr := t.Tracer; tr != nil {
		if tr.Host == "" || tr.Port == 0 {
			return fmt.Errorf("%s tracer needs a host and port", tr.Kind)
		}
		if _, err := netip.ParseAddr(tr.Host); tr.Kind == TracerXRay && err != nil {
			return fmt.Errorf("x-ray daemon address %q is not an IP", tr.Host)
		}
		if tr.XRay.SamplingRuleManifest != "" && tr.XRay.SamplingRules != "" {
			return errors.New("x-ray sampling rules: a manifest file and inline rules are exclusive")
		}
	}
	return nil
}

// applyTelemetry adds the configured stats and tracing pieces to b.
func applyTelemetry(b *bootstrapv3.Bootstrap, t *Telemetry) error {
	if err := t.check(); err != nil {
		return err
	}
	if len(t.StatsTags) > 0 {
		sc := &metricsv3.StatsConfig{}
		for _, tag := range t.StatsTags {
			ts := &metricsv3.TagSpecifier{TagName: tag.Name,
				TagValue: &metricsv3.TagSpecifier_FixedValue{FixedValue: tag.Value}}
			if tag.Regex != "" {
				ts.TagValue = &metricsv3.TagSpecifier_Regex{Regex: tag.Regex}
			}
			sc.StatsTags = append(sc.StatsTags, ts)
		}
		b.StatsConfig = sc
	}
	if t.FlushInterval > 0 {
		b.StatsFlushInterval = durationpb.New(t.FlushInterval)
	}
	if t.DogStatsD != nil {
		sink, err := dogStatsDSink(t.DogStatsD)
		if err != nil {
			return err
		}
		b.StatsSinks = append(b.StatsSinks, sink)
	}
	if t.Tracer != nil {
		tracing, cluster, err := buildTracer(t.Tracer)
		if err != nil {
			return err
		}
		b.Tracing = tracing
		if cluster != nil {
			b.StaticResources.Clusters = append(b.StaticResources.Clusters, cluster)
		}
	}
	return nil
}

// dogStatsDSink is App Mesh's sink: no prefix (Envoy's "envoy"), tags
// from stats_config.
func dogStatsDSink(d *DogStatsD) (*metricsv3.StatsSink, error) {
	addr := &corev3.Address{Address: &corev3.Address_SocketAddress{SocketAddress: &corev3.SocketAddress{
		Protocol:      corev3.SocketAddress_UDP,
		Address:       d.Host,
		PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: d.Port},
	}}}
	if d.SocketPath != "" {
		addr = pipeAddress(d.SocketPath)
	}
	cfg, err := anypb.New(&metricsv3.DogStatsdSink{
		DogStatsdSpecifier: &metricsv3.DogStatsdSink_Address{Address: addr},
	})
	if err != nil {
		return nil, fmt.Errorf("dogstatsd sink: %w", err)
	}
	return &metricsv3.StatsSink{
		Name:       "envoy.stat_sinks.dog_statsd",
		ConfigType: &metricsv3.StatsSink_TypedConfig{TypedConfig: cfg},
	}, nil
}

// collectorCluster is a one-host cluster for a trace collector, STRICT_DNS
// as App Mesh's agent made them, so a hostname works too.
func collectorCluster(name, host string, port uint32, http2 bool) (*clusterv3.Cluster, error) {
	c, err := grpcCluster(name, clusterv3.Cluster_STRICT_DNS, socketAddress(host, port))
	if err != nil {
		return nil, err
	}
	if !http2 {
		c.TypedExtensionProtocolOptions = nil
	}
	return c, nil
}
