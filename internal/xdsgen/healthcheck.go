package xdsgen

import (
	"fmt"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/trellis-mesh/trellis/internal/ir"
)

// healthChecks maps active health checks. App Mesh ran them on every
// client's egress cluster, so they sit on the cluster, not the listener.
func healthChecks(hcs []ir.HealthCheck) ([]*corev3.HealthCheck, error) {
	var out []*corev3.HealthCheck
	for i := range hcs {
		h, err := healthCheck(&hcs[i])
		if err != nil {
			return nil, fmt.Errorf("health check %d: %w", i, err)
		}
		out = append(out, h)
	}
	return out, nil
}

func healthCheck(h *ir.HealthCheck) (*corev3.HealthCheck, error) {
	out := &corev3.HealthCheck{
		Timeout:            durationpb.New(h.Timeout.Std()),
		Interval:           durationpb.New(h.Interval.Std()),
		HealthyThreshold:   wrapperspb.UInt32(h.HealthyThreshold),
		UnhealthyThreshold: wrapperspb.UInt32(h.UnhealthyThreshold),
	}
	if h.Port != 0 {
		// Checks go to this port on each host instead of the host's own.
		out.AltPort = wrapperspb.UInt32(h.Port)
	}
	switch h.Protocol {
	case ir.HTTP, ir.HTTP2:
		hc := &corev3.HealthCheck_HttpHealthCheck{Path: h.Path}
		if h.Protocol == ir.HTTP2 {
			hc.CodecClientType = typev3.CodecClientType_HTTP2
		}
		out.HealthChecker = &corev3.HealthCheck_HttpHealthCheck_{HttpHealthCheck: hc}
	case ir.GRPC:
		// The gRPC Health Checking Protocol, overall server health (empty
		// service name), which is what App Mesh's grpc checks asked.
		out.HealthChecker = &corev3.HealthCheck_GrpcHealthCheck_{GrpcHealthCheck: &corev3.HealthCheck_GrpcHealthCheck{}}
	case ir.TCP:
		// Empty send/receive: a successful connect is healthy.
		out.HealthChecker = &corev3.HealthCheck_TcpHealthCheck_{TcpHealthCheck: &corev3.HealthCheck_TcpHealthCheck{}}
	default:
		return nil, fmt.Errorf("unknown protocol %q", h.Protocol)
	}
	return out, nil
}
