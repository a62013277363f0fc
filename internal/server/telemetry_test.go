package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/appmesh"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	metricsv3 "github.com/envoyproxy/go-control-plane/envoy/service/metrics/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	dto "github.com/prometheus/client_model/go"
	statuspb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"

	"github.com/trellis-mesh/trellis/internal/telemetry"
	"github.com/trellis-mesh/trellis/internal/xdsserver"
)

// TestTelemetryOverXDSPort streams Envoy-style stats to the xDS port's
// MetricsService and reads them back on /metrics and the JSON APIs; an ADS
// stream shows up on /v1/proxies.
func TestTelemetryOverXDSPort(t *testing.T) {
	s := startWithXDS(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	mustFrontNode(ctx, t, s.Addr())
	adsConnectAndACK(ctx, t, s.XDSAddr(), "mesh/"+testMesh+"/virtualNode/front")

	conn, err := grpc.NewClient(s.XDSAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	st, err := metricsv3.NewMetricsServiceClient(conn).StreamMetrics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const edge = "cluster.cds_egress_" + testMesh + "_back_http_8080."
	msg := &metricsv3.StreamMetricsMessage{
		Identifier: &metricsv3.StreamMetricsMessage_Identifier{Node: &corev3.Node{Id: "mesh/" + testMesh + "/virtualNode/front"}},
		EnvoyMetrics: []*dto.MetricFamily{gaugeFam("server.uptime", 1),
			counterFam(edge+"upstream_rq_completed", 100), counterFam(edge+"upstream_rq_5xx", 5)},
	}
	if err := st.Send(msg); err != nil {
		t.Fatal(err)
	}
	labels := map[string]string{"mesh": testMesh, "source": "front", "destination": "back"}
	fams := waitFor(t, s.Addr(), "trellis_edge_requests_total", labels, 100)
	if got := value(fams, "trellis_edge_errors_total", labels); got != 5 {
		t.Errorf("trellis_edge_errors_total = %v, want 5", got)
	}
	if got := value(fams, "trellis_edge_success_ratio", labels); got != 0.95 {
		t.Errorf("trellis_edge_success_ratio = %v, want 0.95", got)
	}
	var edges telemetry.SignalsResponse
	getJSON(t, "http://"+s.Addr()+"/v1/telemetry/edges?mesh="+testMesh, &edges)
	if len(edges.Edges) != 1 || edges.Edges[0].Source != "front" || edges.Edges[0].Destination != "back" || edges.Edges[0].Requests != 100 {
		t.Errorf("edges = %+v", edges)
	}
	var proxies struct{ Proxies []xdsserver.ProxyStatus }
	getJSON(t, "http://"+s.Addr()+"/v1/proxies", &proxies)
	if len(proxies.Proxies) != 1 || proxies.Proxies[0].Name != "front" || !proxies.Proxies[0].Connected {
		t.Errorf("proxies = %+v", proxies)
	}
}

// mustFrontNode creates the test mesh and its virtual node "front", so a
// proxy of that node gets a configuration.
func mustFrontNode(ctx context.Context, t *testing.T, addr string) {
	t.Helper()
	c := newClient(addr)
	mustMesh(t, c)
	if _, err := c.CreateVirtualNode(ctx, &appmesh.CreateVirtualNodeInput{MeshName: aws.String(testMesh),
		VirtualNodeName: aws.String("front"), Spec: dnsNode("front.local")}); err != nil {
		t.Fatalf("CreateVirtualNode: %v", err)
	}
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %d", url, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

func counterFam(name string, v float64) *dto.MetricFamily {
	return &dto.MetricFamily{Name: proto.String(name), Type: dto.MetricType_COUNTER.Enum(),
		Metric: []*dto.Metric{{Counter: &dto.Counter{Value: proto.Float64(v)}}}}
}

func gaugeFam(name string, v float64) *dto.MetricFamily {
	return &dto.MetricFamily{Name: proto.String(name), Type: dto.MetricType_GAUGE.Enum(),
		Metric: []*dto.Metric{{Gauge: &dto.Gauge{Value: proto.Float64(v)}}}}
}

// TestProxiesShowNACK: a proxy that rejects its clusters is NACKED on
// /v1/proxies with Envoy's reason.
func TestProxiesShowNACK(t *testing.T) {
	s := startWithXDS(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	mustFrontNode(ctx, t, s.Addr())
	conn, err := grpc.NewClient(s.XDSAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	stream, err := discoveryv3.NewAggregatedDiscoveryServiceClient(conn).StreamAggregatedResources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	node := &corev3.Node{Id: "mesh/" + testMesh + "/virtualNode/front"}
	if err := stream.Send(&discoveryv3.DiscoveryRequest{Node: node, TypeUrl: resourcev3.ClusterType}); err != nil {
		t.Fatal(err)
	}
	resp, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	nack := &discoveryv3.DiscoveryRequest{TypeUrl: resourcev3.ClusterType, ResponseNonce: resp.GetNonce(),
		ErrorDetail: &statuspb.Status{Message: "cluster rejected: test"}}
	if err := stream.Send(nack); err != nil {
		t.Fatal(err)
	}
	var proxies struct{ Proxies []xdsserver.ProxyStatus }
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		getJSON(t, "http://"+s.Addr()+"/v1/proxies?mesh="+testMesh, &proxies)
		if len(proxies.Proxies) == 1 && proxies.Proxies[0].State == xdsserver.StateNACKed {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("proxies = %+v, want one NACKED", proxies.Proxies)
		}
	}
	p := proxies.Proxies[0]
	if p.NACK == nil || p.NACK.Message != "cluster rejected: test" || p.NACK.TypeURL != resourcev3.ClusterType || p.NACK.Version != resp.GetVersionInfo() {
		t.Errorf("nack = %+v, want the cluster rejection of version %q", p.NACK, resp.GetVersionInfo())
	}
}
