package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/appmesh"
	sd "github.com/aws/aws-sdk-go-v2/service/servicediscovery"
	"github.com/aws/smithy-go/middleware"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/trellis-mesh/trellis/internal/registryapi"
	"github.com/trellis-mesh/trellis/internal/server"
)

// TestMetricsEndpoint scrapes GET /metrics with the Prometheus text parser
// and watches the API and xDS counters move as SDK calls are made and as a
// simulated Envoy connects over ADS and ACKs.
func TestMetricsEndpoint(t *testing.T) {
	s := startWithXDS(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	before := scrape(t, s.Addr())
	if got := value(before, "trellis_xds_connected_proxies", nil); got != 0 {
		t.Errorf("connected proxies before any proxy = %v, want 0", got)
	}
	c := newClient(s.Addr())
	mustMesh(t, c)
	if _, err := c.CreateVirtualNode(ctx, &appmesh.CreateVirtualNodeInput{MeshName: aws.String(testMesh),
		VirtualNodeName: aws.String("front"), Spec: dnsNode("front.local")}); err != nil {
		t.Fatalf("CreateVirtualNode: %v", err)
	}
	_, err := c.DescribeMesh(ctx, &appmesh.DescribeMeshInput{MeshName: aws.String("missing")})
	if err == nil {
		t.Fatal("DescribeMesh of a missing mesh succeeded")
	}
	sdc := sd.New(sd.Options{Region: testRegion, BaseEndpoint: aws.String("http://" + s.Addr()),
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", ""),
		APIOptions:  []func(*middleware.Stack) error{registryapi.NoHostPrefix}})
	if _, err := sdc.ListNamespaces(ctx, &sd.ListNamespacesInput{}); err != nil {
		t.Fatalf("ListNamespaces: %v", err)
	}

	// Made-up operations never become label values: they count as other.
	req, _ := http.NewRequest(http.MethodPost, "http://"+s.Addr()+"/", strings.NewReader("{}"))
	req.Header.Set("X-Amz-Target", registryapi.TargetPrefix+"MadeUpOperation")
	for _, r := range []*http.Request{req, mustRequest(t, http.MethodGet, "http://"+s.Addr()+"/v20190125/nope")} {
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatalf("%s %s: %v", r.Method, r.URL, err)
		}
		resp.Body.Close()
	}

	after := scrape(t, s.Addr())
	for _, tt := range []struct {
		api, op, code string
		want          float64
	}{
		{"appmesh", "CreateMesh", "200", 1},
		{"appmesh", "CreateVirtualNode", "200", 1},
		{"appmesh", "DescribeMesh", "404", 1},
		{"servicediscovery", "ListNamespaces", "200", 1},
		{"other", "other", "400", 1},
		{"other", "other", "404", 1},
	} {
		l := map[string]string{"api": tt.api, "operation": tt.op, "code": tt.code}
		if got := value(after, "trellis_api_requests_total", l); got != tt.want {
			t.Errorf("trellis_api_requests_total%v = %v, want %v", l, got, tt.want)
		}
		if got := value(after, "trellis_api_request_duration_seconds", l); got != tt.want {
			t.Errorf("trellis_api_request_duration_seconds%v count = %v, want %v", l, got, tt.want)
		}
	}

	adsConnectAndACK(ctx, t, s.XDSAddr(), "mesh/"+testMesh+"/virtualNode/front")
	cluster := map[string]string{"type": "Cluster"}
	// The server handles the ACK on its stream goroutine; poll until a
	// scrape counts it (10 s bounds a hang, it is not a timing claim).
	m := waitFor(t, s.Addr(), "trellis_xds_acks_total", cluster, 1)
	if got := value(m, "trellis_xds_connected_proxies", nil); got != 1 {
		t.Errorf("trellis_xds_connected_proxies = %v, want 1", got)
	}
	if got := value(m, "trellis_xds_pushes_total", cluster); got < 1 {
		t.Errorf("trellis_xds_pushes_total{type=Cluster} = %v, want >= 1", got)
	}
	if got := value(m, "go_goroutines", nil); got <= 0 {
		t.Errorf("go_goroutines = %v, want the runtime collector", got)
	}
}

// startWithXDS starts a server with the test config and an xDS listener
// on a loopback port, stopped when the test ends.
func startWithXDS(t *testing.T) *server.Server {
	t.Helper()
	cfg := config(t.TempDir())
	cfg.XDSAddr = "127.0.0.1:0"
	s, err := server.Start(cfg)
	if err != nil {
		t.Fatalf("server.Start: %v", err)
	}
	t.Cleanup(func() { _ = s.Stop() })
	return s
}

// adsConnectAndACK opens one ADS stream as nodeID, waits for the first
// Cluster response and ACKs it. The stream stays open until the test ends.
func adsConnectAndACK(ctx context.Context, t *testing.T, addr, nodeID string) {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("dial xds: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	stream, err := discoveryv3.NewAggregatedDiscoveryServiceClient(conn).StreamAggregatedResources(ctx)
	if err != nil {
		t.Fatalf("open ADS stream: %v", err)
	}
	req := &discoveryv3.DiscoveryRequest{Node: &corev3.Node{Id: nodeID, Cluster: "front"}, TypeUrl: resourcev3.ClusterType}
	if err := stream.Send(req); err != nil {
		t.Fatalf("send CDS request: %v", err)
	}
	resp, err := stream.Recv()
	if err != nil {
		t.Fatalf("receive CDS response: %v", err)
	}
	ack := &discoveryv3.DiscoveryRequest{TypeUrl: resourcev3.ClusterType, VersionInfo: resp.GetVersionInfo(), ResponseNonce: resp.GetNonce()}
	if err := stream.Send(ack); err != nil {
		t.Fatalf("send ACK: %v", err)
	}
}

// waitFor scrapes until the metric reaches at least min, for up to 10 s.
func waitFor(t *testing.T, addr, name string, labels map[string]string, min float64) map[string]*dto.MetricFamily {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		m := scrape(t, addr)
		if value(m, name, labels) >= min {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s%v = %v after 10s, want >= %v", name, labels, value(m, name, labels), min)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func mustRequest(t *testing.T, method, url string) *http.Request {
	t.Helper()
	r, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// scrape fetches GET /metrics and parses it as Prometheus text.
func scrape(t *testing.T, addr string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: status %d", resp.StatusCode)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return fams
}

// value is the metric's value for the series carrying every given label
// (a counter's or gauge's value, a histogram's sample count); 0 if absent.
func value(fams map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	for _, m := range fams[name].GetMetric() {
		if !hasLabels(m, labels) {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue()
		case m.Gauge != nil:
			return m.GetGauge().GetValue()
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount())
		}
	}
	return 0
}

func hasLabels(m *dto.Metric, want map[string]string) bool {
	n := 0
	for _, lp := range m.GetLabel() {
		if v, ok := want[lp.GetName()]; ok {
			if v != lp.GetValue() {
				return false
			}
			n++
		}
	}
	return n == len(want)
}
