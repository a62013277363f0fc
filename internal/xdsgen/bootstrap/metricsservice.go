package bootstrap

import (
	"fmt"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	metricsv3 "github.com/envoyproxy/go-control-plane/envoy/config/metrics/v3"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
)

// MetricsServiceSinkName is Envoy's name of the gRPC metrics service sink.
const MetricsServiceSinkName = "envoy.stat_sinks.metrics_service"

// metricsBatchSize bounds the metric families per MetricsService message,
// so one flush of a large proxy is several messages of bounded size.
const metricsBatchSize = 1000

// MetricsService streams the proxy's stats to the control plane's
// MetricsService (Trellis' live golden signals) over xds_cluster.
type MetricsService struct {
	// FlushInterval sets stats_flush_interval, the period of the stream,
	// when nothing else sets it; 0 leaves Envoy's 5 s.
	FlushInterval time.Duration
}

// metricsServiceSinks returns the stats sink for c.MetricsService (none
// when it is nil): full stat names (no tags as labels), cumulative
// counters, histograms as buckets, batches of metricsBatchSize families.
func metricsServiceSinks(c *Config) ([]*metricsv3.StatsSink, error) {
	if c.MetricsService == nil {
		return nil, nil
	}
	ms := &metricsv3.MetricsServiceConfig{
		GrpcService: &corev3.GrpcService{TargetSpecifier: &corev3.GrpcService_EnvoyGrpc_{
			EnvoyGrpc: &corev3.GrpcService_EnvoyGrpc{ClusterName: XDSCluster}}},
		TransportApiVersion: corev3.ApiVersion_V3,
		HistogramEmitMode:   metricsv3.HistogramEmitMode_HISTOGRAM,
		BatchSize:           metricsBatchSize,
	}
	a, err := anypb.New(ms)
	if err != nil {
		return nil, fmt.Errorf("metrics service sink: %w", err)
	}
	return []*metricsv3.StatsSink{{Name: MetricsServiceSinkName, ConfigType: &metricsv3.StatsSink_TypedConfig{TypedConfig: a}}}, nil
}

// metricsFlushInterval is c.MetricsService's flush interval, or nil.
func metricsFlushInterval(c *Config) *durationpb.Duration {
	if c.MetricsService == nil || c.MetricsService.FlushInterval <= 0 {
		return nil
	}
	return durationpb.New(c.MetricsService.FlushInterval)
}
