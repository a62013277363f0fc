package bootstrap

import (
	"fmt"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	tracev3 "github.com/envoyproxy/go-control-plane/envoy/config/trace/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// Values App Mesh's agent wrote into tracer configs.
const (
	// XRayOrigin is the X-Ray segment origin of an App Mesh proxy.
	XRayOrigin = "AWS::AppMesh::Proxy"
	// ZipkinEndpoint is the Zipkin v2 collector path (Jaeger serves it
	// too).
	ZipkinEndpoint = "/api/v2/spans"
)

// buildTracer returns the bootstrap tracing block for t and the static
// cluster it reports through (nil for X-Ray, which sends UDP datagrams
// straight to the daemon).
func buildTracer(t *Tracer) (*tracev3.Tracing, *clusterv3.Cluster, error) {
	var (
		name    string
		cfg     proto.Message
		cluster *clusterv3.Cluster
		err     error
	)
	switch t.Kind {
	case TracerXRay:
		name = "envoy.tracers.xray"
		cfg, err = xrayConfig(t)
	case TracerZipkin:
		name = "envoy.tracers.zipkin"
		version := tracev3.ZipkinConfig_HTTP_PROTO
		if t.ZipkinJSON {
			version = tracev3.ZipkinConfig_HTTP_JSON
		}
		cfg = &tracev3.ZipkinConfig{
			CollectorCluster:         ZipkinCluster,
			CollectorEndpoint:        ZipkinEndpoint,
			CollectorEndpointVersion: version,
			SharedSpanContext:        wrapperspb.Bool(false),
		}
		cluster, err = collectorCluster(ZipkinCluster, t.Host, t.Port, false)
	case TracerDatadog:
		name = "envoy.tracers.datadog"
		cfg = &tracev3.DatadogConfig{CollectorCluster: DatadogCluster, ServiceName: t.ServiceName}
		cluster, err = collectorCluster(DatadogCluster, t.Host, t.Port, false)
	case TracerOpenTelemetry:
		name = "envoy.tracers.opentelemetry"
		cfg = &tracev3.OpenTelemetryConfig{GrpcService: envoyGRPC(OTelCluster), ServiceName: t.ServiceName}
		cluster, err = collectorCluster(OTelCluster, t.Host, t.Port, true)
	default:
		return nil, nil, fmt.Errorf("unknown tracer %q", t.Kind)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("%s tracer: %w", t.Kind, err)
	}
	a, err := anypb.New(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("%s tracer: %w", t.Kind, err)
	}
	return &tracev3.Tracing{Http: &tracev3.Tracing_Http{
		Name:       name,
		ConfigType: &tracev3.Tracing_Http_TypedConfig{TypedConfig: a},
	}}, cluster, nil
}

// xrayConfig is App Mesh's X-Ray tracer: UDP to the daemon, origin
// AWS::AppMesh::Proxy, the mesh and resource under aws.app_mesh (always
// as virtual_node_name, gateways included, as the agent did).
func xrayConfig(t *Tracer) (*tracev3.XRayConfig, error) {
	cfg := &tracev3.XRayConfig{
		SegmentName: t.ServiceName,
		DaemonEndpoint: &corev3.SocketAddress{
			Protocol:      corev3.SocketAddress_UDP,
			Address:       t.Host,
			PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: t.Port},
		},
		SegmentFields: &tracev3.XRayConfig_SegmentFields{Origin: XRayOrigin},
	}
	if x := t.XRay; x.Mesh != "" {
		aws, err := structpb.NewStruct(map[string]any{"app_mesh": map[string]any{
			"mesh_name":         x.Mesh,
			"virtual_node_name": x.Node,
		}})
		if err != nil {
			return nil, err
		}
		cfg.SegmentFields.Aws = aws
	}
	switch {
	case t.XRay.SamplingRuleManifest != "":
		cfg.SamplingRuleManifest = &corev3.DataSource{
			Specifier: &corev3.DataSource_Filename{Filename: t.XRay.SamplingRuleManifest},
		}
	case t.XRay.SamplingRules != "":
		cfg.SamplingRuleManifest = &corev3.DataSource{
			Specifier: &corev3.DataSource_InlineString{InlineString: t.XRay.SamplingRules},
		}
	}
	return cfg, nil
}

// envoyGRPC is a gRPC service on the static cluster named cluster.
func envoyGRPC(cluster string) *corev3.GrpcService {
	return &corev3.GrpcService{TargetSpecifier: &corev3.GrpcService_EnvoyGrpc_{
		EnvoyGrpc: &corev3.GrpcService_EnvoyGrpc{ClusterName: cluster},
	}}
}
