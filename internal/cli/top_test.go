package cli_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	metricsv3 "github.com/envoyproxy/go-control-plane/envoy/service/metrics/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"

	"github.com/trellis-mesh/trellis/internal/server"
)

// TestTopAndGetProxies streams stats as an Envoy would and opens an ADS
// stream, then reads them through `trellis top` and `trellis get proxies`.
func TestTopAndGetProxies(t *testing.T) {
	s, err := server.Start(server.Config{DataDir: t.TempDir(), APIAddr: "127.0.0.1:0", XDSAddr: "127.0.0.1:0",
		Region: "us-east-1", AccountID: "123456789012", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatalf("server.Start: %v", err)
	}
	t.Cleanup(func() { _ = s.Stop() })
	ep := "http://" + s.Addr()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := grpc.NewClient(s.XDSAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	const node = "mesh/shop/virtualNode/front"
	ads, err := discoveryv3.NewAggregatedDiscoveryServiceClient(conn).StreamAggregatedResources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := ads.Send(&discoveryv3.DiscoveryRequest{Node: &corev3.Node{Id: node}, TypeUrl: resourcev3.ClusterType}); err != nil {
		t.Fatal(err)
	}
	ms, err := metricsv3.NewMetricsServiceClient(conn).StreamMetrics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const edge = "cluster.cds_egress_shop_back_http_8080."
	if err := ms.Send(&metricsv3.StreamMetricsMessage{
		Identifier: &metricsv3.StreamMetricsMessage_Identifier{Node: &corev3.Node{Id: node}},
		EnvoyMetrics: []*dto.MetricFamily{fam("server.uptime", dto.MetricType_GAUGE, 1),
			fam("http.ingress.downstream_rq_completed", dto.MetricType_COUNTER, 600),
			fam("http.ingress.downstream_rq_5xx", dto.MetricType_COUNTER, 6),
			fam(edge+"upstream_rq_completed", dto.MetricType_COUNTER, 120),
			fam(edge+"upstream_cx_active", dto.MetricType_GAUGE, 2),
			fam("vhost.back.shop.local.vcluster.back.shop.local.upstream_rq_completed", dto.MetricType_COUNTER, 60)},
	}); err != nil {
		t.Fatal(err)
	}
	var out string
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(out, "front"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("top never showed the node:\n%s", out)
		}
		out = mustRun(t, ep, "top", "--once", "--mesh", "shop")
	}
	// 600 requests in a 60 s window: 10 rps; 6 5xx: 99 %.
	if !strings.Contains(out, "shop  virtualNode  front  1        10.0  99.00%") {
		t.Errorf("top:\n%s", out)
	}
	out = mustRun(t, ep, "top", "--once", "--edges")
	if !strings.Contains(out, "shop  front   back         1        2.0  100.00%  -    -    2") {
		t.Errorf("top --edges:\n%s", out)
	}
	if out = mustRun(t, ep, "top", "--once", "--services"); !strings.Contains(out, "shop  back.shop.local  1        1.0  100.00%") {
		t.Errorf("top --services:\n%s", out)
	}
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(out, node); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("get proxies never showed the proxy:\n%s", out)
		}
		out = mustRun(t, ep, "get", "proxies", "-o", "json")
	}
	if out = mustRun(t, ep, "get", "proxies", "--mesh", "shop"); !strings.Contains(out, "shop  virtualNode  front") {
		t.Errorf("get proxies:\n%s", out)
	}
}

func fam(name string, typ dto.MetricType, v float64) *dto.MetricFamily {
	m := &dto.Metric{}
	if typ == dto.MetricType_GAUGE {
		m.Gauge = &dto.Gauge{Value: proto.Float64(v)}
	} else {
		m.Counter = &dto.Counter{Value: proto.Float64(v)}
	}
	return &dto.MetricFamily{Name: proto.String(name), Type: typ.Enum(), Metric: []*dto.Metric{m}}
}
