package server_test

import (
	"context"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	metricsv3 "github.com/envoyproxy/go-control-plane/envoy/service/metrics/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/trellis-mesh/trellis/internal/server"
	"github.com/trellis-mesh/trellis/internal/xdsserver"
)

// startXDSLimited starts a server whose xDS listener has limits and
// returns it with a client connection to that listener.
func startXDSLimited(t *testing.T, limits xdsserver.Limits) (*server.Server, *grpc.ClientConn) {
	t.Helper()
	cfg := config(t.TempDir())
	cfg.XDSAddr = "127.0.0.1:0"
	cfg.XDSLimits = limits
	s, err := server.Start(cfg)
	if err != nil {
		t.Fatalf("server.Start: %v", err)
	}
	t.Cleanup(func() { _ = s.Stop() })
	conn, err := grpc.NewClient(s.XDSAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return s, conn
}

// TestXDSStreamLimitCountsMetricsStreams: Config.XDSLimits reaches the xDS
// listener, and an Envoy's metrics stream counts against MaxStreams like
// its ADS stream: with MaxStreams=2, a second ADS stream is refused.
func TestXDSStreamLimitCountsMetricsStreams(t *testing.T) {
	s, conn := startXDSLimited(t, xdsserver.Limits{MaxStreams: 2})
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	node := &corev3.Node{Id: "mesh/" + testMesh + "/virtualNode/front"}
	ms, err := metricsv3.NewMetricsServiceClient(conn).StreamMetrics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := ms.Send(&metricsv3.StreamMetricsMessage{Identifier: &metricsv3.StreamMetricsMessage_Identifier{Node: node}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, s.Addr(), "trellis_telemetry_streams", nil, 1)
	ads := discoveryv3.NewAggregatedDiscoveryServiceClient(conn)
	open := func() discoveryv3.AggregatedDiscoveryService_StreamAggregatedResourcesClient {
		st, err := ads.StreamAggregatedResources(ctx)
		if err != nil {
			t.Fatal(err)
		}
		_ = st.Send(&discoveryv3.DiscoveryRequest{Node: node, TypeUrl: resourcev3.ClusterType}) // EOF if refused
		return st
	}
	open()
	waitFor(t, s.Addr(), "trellis_xds_connected_proxies", nil, 1)
	if _, err := open().Recv(); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("third stream: %v, want ResourceExhausted", err)
	}
	m := waitFor(t, s.Addr(), "trellis_xds_streams_refused_total", map[string]string{"reason": "limit"}, 1)
	if got := value(m, "trellis_xds_streams_open", nil); got != 2 {
		t.Errorf("trellis_xds_streams_open = %v, want 2", got)
	}
}

// TestXDSFirstRequestTimeoutBoundsMetricsStreams: the first-request
// deadline also ends a metrics stream that never sends.
func TestXDSFirstRequestTimeoutBoundsMetricsStreams(t *testing.T) {
	s, conn := startXDSLimited(t, xdsserver.Limits{FirstRequestTimeout: 50 * time.Millisecond})
	ms, err := metricsv3.NewMetricsServiceClient(conn).StreamMetrics(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var resp metricsv3.StreamMetricsResponse
	if err := ms.RecvMsg(&resp); status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("silent metrics stream: %v, want DeadlineExceeded", err)
	}
	waitFor(t, s.Addr(), "trellis_telemetry_streams_refused_total", map[string]string{"reason": "no_first_message"}, 1)
}
