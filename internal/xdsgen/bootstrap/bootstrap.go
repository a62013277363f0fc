package bootstrap

import (
	"errors"
	"fmt"
	"time"

	accesslogv3 "github.com/envoyproxy/go-control-plane/envoy/config/accesslog/v3"
	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	fileaccesslogv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/access_loggers/file/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/structpb"
	"sigs.k8s.io/yaml"
)

// Names of the static clusters. Dynamic configuration refers to them by
// name, so they are part of the contract with xdsgen.
const (
	// XDSCluster reaches the Trellis server's ADS endpoint.
	XDSCluster = "xds_cluster"
	// SDSCluster reaches a local SDS server over a Unix socket (the name
	// App Mesh's agent used, so existing SDS setups keep matching).
	SDSCluster = "static_cluster_sds_unix_socket"
)

// Defaults applied to a zero Config field.
const (
	// DefaultAdminAddress keeps the admin API on loopback: it can stop
	// the proxy, so exposing it (App Mesh used 0.0.0.0) is opt-in.
	DefaultAdminAddress = "127.0.0.1"
	DefaultAdminPort    = 9901
)

// HostPort is the address of one xDS server.
type HostPort struct {
	Host string
	Port uint32
}

// Config describes one proxy's bootstrap.
type Config struct {
	// NodeID is the Envoy node id, mesh/<mesh>/virtualNode/<name>.
	NodeID string
	// Cluster is the node cluster; empty means NodeID, as App Mesh did.
	Cluster string
	// Metadata is sent with the node (JSON-compatible values only).
	Metadata map[string]any
	// AdminAddress and AdminPort bind the admin API (defaults above).
	AdminAddress string
	AdminPort    uint32
	// XDSHost and XDSPort locate the server: an IP gives a STATIC
	// cluster, a hostname a STRICT_DNS one. XDSUnixSocket replaces both.
	XDSHost       string
	XDSPort       uint32
	XDSUnixSocket string
	// XDSReplicas are further servers next to XDSHost:XDSPort, replicas
	// serving the same configuration. Envoy keeps its one ADS stream on a
	// healthy one and moves it when that replica dies (see xdsCluster).
	XDSReplicas []HostPort
	// Delta selects incremental xDS (DELTA_GRPC) over state-of-the-world.
	Delta bool
	// SDSSocketPath, when set, adds SDSCluster pointing at this socket.
	SDSSocketPath string
	// XDSTLS, when set, makes xds_cluster mTLS with SDS secrets (xdstls.go).
	XDSTLS *XDSTLS
	// MetricsService, when set, streams stats to the control plane
	// (metricsservice.go).
	MetricsService *MetricsService
	// Telemetry adds stats tags, sinks and a tracer (telemetry.go).
	Telemetry Telemetry
}

// Render returns the bootstrap as YAML (proto field names, sorted keys),
// after validating it against the Envoy protos.
func Render(cfg Config) ([]byte, error) {
	b, err := Build(cfg)
	if err != nil {
		return nil, err
	}
	return Marshal(b)
}

// Marshal writes a bootstrap as Render does: YAML, proto field names,
// sorted keys.
func Marshal(b *bootstrapv3.Bootstrap) ([]byte, error) {
	j, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(b)
	if err != nil {
		return nil, fmt.Errorf("bootstrap: marshal: %w", err)
	}
	y, err := yaml.JSONToYAML(j)
	if err != nil {
		return nil, fmt.Errorf("bootstrap: yaml: %w", err)
	}
	return y, nil
}

// Build returns the validated bootstrap proto.
func Build(cfg Config) (*bootstrapv3.Bootstrap, error) {
	if err := cfg.check(); err != nil {
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	node, err := buildNode(&cfg)
	if err != nil {
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	admin, err := buildAdmin(&cfg)
	if err != nil {
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	clusters, err := staticClusters(&cfg)
	if err != nil {
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	rt, err := runtime()
	if err != nil {
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	sinks, err := metricsServiceSinks(&cfg)
	if err != nil {
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	b := &bootstrapv3.Bootstrap{
		Node:             node,
		Admin:            admin,
		DynamicResources: dynamicResources(cfg.Delta),
		StaticResources:  &bootstrapv3.Bootstrap_StaticResources{Clusters: clusters},
		LayeredRuntime:   rt,

		StatsSinks:         sinks,
		StatsFlushInterval: metricsFlushInterval(&cfg),
	}
	if err := applyTelemetry(b, &cfg.Telemetry); err != nil {
		return nil, fmt.Errorf("bootstrap: telemetry: %w", err)
	}
	if err := b.ValidateAll(); err != nil {
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	return b, nil
}

func (c *Config) check() error {
	if c.NodeID == "" {
		return errors.New("empty node id")
	}
	switch {
	case c.XDSUnixSocket != "" && (c.XDSHost != "" || c.XDSPort != 0):
		return errors.New("xds unix socket and host/port are exclusive")
	case c.XDSUnixSocket == "" && (c.XDSHost == "" || c.XDSPort == 0):
		return errors.New("xds needs a unix socket or a host and port")
	case c.XDSUnixSocket != "" && len(c.XDSReplicas) > 0:
		return errors.New("xds replicas need host and port, not a unix socket")
	}
	for i, r := range c.XDSReplicas {
		if r.Host == "" || r.Port == 0 {
			return fmt.Errorf("xds replica %d needs a host and a port", i)
		}
	}
	return c.checkXDSTLS()
}

func buildNode(c *Config) (*corev3.Node, error) {
	n := &corev3.Node{Id: c.NodeID, Cluster: c.Cluster}
	if n.Cluster == "" {
		n.Cluster = c.NodeID
	}
	if len(c.Metadata) > 0 {
		md, err := structpb.NewStruct(c.Metadata)
		if err != nil {
			return nil, fmt.Errorf("node metadata: %w", err)
		}
		n.Metadata = md
	}
	return n, nil
}

// buildAdmin binds the admin API; its access log goes to /dev/null since
// probes hit it constantly and would drown the proxy's own logs.
func buildAdmin(c *Config) (*bootstrapv3.Admin, error) {
	addr, port := c.AdminAddress, c.AdminPort
	if addr == "" {
		addr = DefaultAdminAddress
	}
	if port == 0 {
		port = DefaultAdminPort
	}
	logCfg, err := anypb.New(&fileaccesslogv3.FileAccessLog{Path: "/dev/null"})
	if err != nil {
		return nil, fmt.Errorf("admin access log: %w", err)
	}
	return &bootstrapv3.Admin{
		Address: socketAddress(addr, port),
		AccessLog: []*accesslogv3.AccessLog{{
			Name:       "envoy.access_loggers.file",
			ConfigType: &accesslogv3.AccessLog_TypedConfig{TypedConfig: logCfg},
		}},
	}, nil
}

// dynamicResources takes listeners and clusters (and through them routes,
// endpoints and ADS-delivered secrets) from one ADS stream.
func dynamicResources(delta bool) *bootstrapv3.Bootstrap_DynamicResources {
	api := corev3.ApiConfigSource_GRPC
	if delta {
		api = corev3.ApiConfigSource_DELTA_GRPC
	}
	ads := func() *corev3.ConfigSource {
		return &corev3.ConfigSource{
			ConfigSourceSpecifier: &corev3.ConfigSource_Ads{Ads: &corev3.AggregatedConfigSource{}},
			ResourceApiVersion:    corev3.ApiVersion_V3,
		}
	}
	return &bootstrapv3.Bootstrap_DynamicResources{
		AdsConfig: &corev3.ApiConfigSource{
			ApiType:             api,
			TransportApiVersion: corev3.ApiVersion_V3,
			GrpcServices:        []*corev3.GrpcService{adsGRPC()},
			// The node is identified once per stream; repeating it on
			// every request only costs bandwidth.
			SetNodeOnFirstMessageOnly: true,
		},
		LdsConfig: ads(),
		CdsConfig: ads(),
	}
}

// ADS stream re-establishment backoff. Envoy's default (base 500 ms, max
// 30 s, full jitter) let a proxy wait up to 30 s after the control plane
// came back; with these it retries at a random point of at most
// adsRetryMax after each failure, so it reconnects within about 2 s of the
// server returning, and a fleet's reconnects are still spread over that
// window rather than arriving at once.
const (
	adsRetryBase = 250 * time.Millisecond
	adsRetryMax  = 2 * time.Second
)

// adsGRPC is the ADS stream's gRPC service: xds_cluster, with the
// reconnect backoff above (EnvoyGrpc.retry_policy, honoured for xDS
// streams since Envoy 1.2x).
func adsGRPC() *corev3.GrpcService {
	return &corev3.GrpcService{TargetSpecifier: &corev3.GrpcService_EnvoyGrpc_{
		EnvoyGrpc: &corev3.GrpcService_EnvoyGrpc{
			ClusterName: XDSCluster,
			RetryPolicy: &corev3.RetryPolicy{RetryBackOff: &corev3.BackoffStrategy{
				BaseInterval: durationpb.New(adsRetryBase),
				MaxInterval:  durationpb.New(adsRetryMax),
			}},
		},
	}}
}

// runtime mirrors the App Mesh static layer key that changes how dynamic
// configuration is read: RE2 programs up to 1000 (App Mesh's regex
// budget). App Mesh also set no_extension_lookup_by_name; Envoy 1.40 has
// removed that guard (it always requires typed configs now) and reports
// setting it as a bug, so it is left out. The admin layer allows runtime
// overrides through the admin API when debugging.
func runtime() (*bootstrapv3.LayeredRuntime, error) {
	static, err := structpb.NewStruct(map[string]any{
		"re2.max_program_size.error_level": 1000,
	})
	if err != nil {
		return nil, fmt.Errorf("runtime: %w", err)
	}
	return &bootstrapv3.LayeredRuntime{Layers: []*bootstrapv3.RuntimeLayer{
		{Name: "static_layer_0", LayerSpecifier: &bootstrapv3.RuntimeLayer_StaticLayer{StaticLayer: static}},
		{Name: "admin_layer", LayerSpecifier: &bootstrapv3.RuntimeLayer_AdminLayer_{AdminLayer: &bootstrapv3.RuntimeLayer_AdminLayer{}}},
	}}, nil
}
