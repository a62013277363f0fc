package xdsserver

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	routerv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
)

// wait bounds every blocking step of a test; nothing is timed against it.
const wait = 10 * time.Second

// syncBuffer is a log sink tests can read while the server writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

type harness struct {
	srv  *Server
	reg  *prometheus.Registry
	logs *syncBuffer
	addr string
}

// start serves a fresh Server on a loopback port until the test ends.
func start(t *testing.T) *harness { return startWith(t, Options{}) }

// startWith is start with options (Logger and Registerer are the harness's).
func startWith(t testing.TB, opts Options) *harness {
	t.Helper()
	h := &harness{reg: prometheus.NewRegistry(), logs: &syncBuffer{}}
	opts.Logger = slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	opts.Registerer = h.reg
	h.srv = New(opts)
	h.addr = serveLoopback(t, h.srv)
	return h
}

// serveLoopback serves srv on a new loopback listener until the test
// ends and returns its address.
func serveLoopback(t testing.TB, srv *Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return ln.Addr().String()
}

// client opens a connection that closes with the test.
func (h *harness) client(t *testing.T) discoveryv3.AggregatedDiscoveryServiceClient {
	t.Helper()
	cc, err := grpc.NewClient(h.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return discoveryv3.NewAggregatedDiscoveryServiceClient(cc)
}

// sotw opens an ADS stream; cancel ends it.
func (h *harness) sotw(t *testing.T) (discoveryv3.AggregatedDiscoveryService_StreamAggregatedResourcesClient, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	t.Cleanup(cancel)
	st, err := h.client(t).StreamAggregatedResources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return st, cancel
}

// eventually polls cond until it holds or wait passes.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// nextEvent waits for the next node change and returns the changed key's
// state (the tests change one node at a time).
func (h *harness) nextEvent(t *testing.T) NodeState {
	t.Helper()
	select {
	case <-h.srv.NodeChanges():
		keys, resync := h.srv.TakeNodeChanges()
		if len(keys) != 1 || resync {
			t.Fatalf("node changes %v (resync %v), want one", keys, resync)
		}
		return h.srv.Node(keys[0])
	case <-time.After(wait):
		t.Fatal("no node change")
		return NodeState{}
	}
}

// typeStatus returns the status of typeURL on the only stream of node.
func (h *harness) typeStatus(node, typeURL string) (TypeStatus, bool) {
	for _, ns := range h.srv.Status() {
		if ns.NodeID == node {
			ts, ok := ns.Types[typeURL]
			return ts, ok
		}
	}
	return TypeStatus{}, false
}

func cluster(name string, timeout time.Duration) *clusterv3.Cluster {
	return &clusterv3.Cluster{
		Name:                 name,
		ConnectTimeout:       durationpb.New(timeout),
		ClusterDiscoveryType: &clusterv3.Cluster_Type{Type: clusterv3.Cluster_STATIC},
	}
}

// listener is an HTTP listener whose routes come inline (rds == "") or
// from RDS over ADS.
func listener(t *testing.T, name, rds string) *listenerv3.Listener {
	t.Helper()
	return statListener(t, name, rds, name)
}

// statListener is listener with a stat prefix, which can mark a version.
func statListener(t *testing.T, name, rds, statPrefix string) *listenerv3.Listener {
	t.Helper()
	router, err := anypb.New(&routerv3.Router{})
	if err != nil {
		t.Fatal(err)
	}
	hcm := &hcmv3.HttpConnectionManager{
		StatPrefix:  statPrefix,
		HttpFilters: []*hcmv3.HttpFilter{{Name: "envoy.filters.http.router", ConfigType: &hcmv3.HttpFilter_TypedConfig{TypedConfig: router}}},
		RouteSpecifier: &hcmv3.HttpConnectionManager_RouteConfig{RouteConfig: &routev3.RouteConfiguration{
			Name: name,
		}},
	}
	if rds != "" {
		hcm.RouteSpecifier = &hcmv3.HttpConnectionManager_Rds{Rds: &hcmv3.Rds{
			RouteConfigName: rds,
			ConfigSource:    &corev3.ConfigSource{ConfigSourceSpecifier: &corev3.ConfigSource_Ads{Ads: &corev3.AggregatedConfigSource{}}},
		}}
	}
	cfg, err := anypb.New(hcm)
	if err != nil {
		t.Fatal(err)
	}
	return &listenerv3.Listener{
		Name: name,
		FilterChains: []*listenerv3.FilterChain{{Filters: []*listenerv3.Filter{{
			Name:       "envoy.filters.network.http_connection_manager",
			ConfigType: &listenerv3.Filter_TypedConfig{TypedConfig: cfg},
		}}}},
	}
}

// resources is a cluster-and-listener set whose cluster timeout and
// listener stat prefix mark it: both types change with the timeout.
func resources(t *testing.T, timeout time.Duration) map[string][]types.Resource {
	return map[string][]types.Resource{
		resourcev3.ClusterType:  {cluster("c1", timeout)},
		resourcev3.ListenerType: {statListener(t, "l1", "", "l1_"+timeout.String())},
	}
}

// names lists the resource names of a state-of-the-world response.
func names(t *testing.T, resp *discoveryv3.DiscoveryResponse) []string {
	t.Helper()
	var out []string
	for _, a := range resp.GetResources() {
		m, err := a.UnmarshalNew()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m.(interface{ GetName() string }).GetName())
	}
	return out
}

// ack accepts resp.
func ack(t *testing.T, st discoveryv3.AggregatedDiscoveryService_StreamAggregatedResourcesClient, resp *discoveryv3.DiscoveryResponse) {
	t.Helper()
	req := &discoveryv3.DiscoveryRequest{TypeUrl: resp.GetTypeUrl(), VersionInfo: resp.GetVersionInfo(), ResponseNonce: resp.GetNonce()}
	if err := st.Send(req); err != nil {
		t.Fatal(err)
	}
}

// nack rejects resp as Envoy does: version_info stays the last accepted.
func nack(t *testing.T, st discoveryv3.AggregatedDiscoveryService_StreamAggregatedResourcesClient, resp *discoveryv3.DiscoveryResponse, accepted, msg string) {
	t.Helper()
	req := &discoveryv3.DiscoveryRequest{TypeUrl: resp.GetTypeUrl(), VersionInfo: accepted, ResponseNonce: resp.GetNonce(), ErrorDetail: statusProto(msg)}
	if err := st.Send(req); err != nil {
		t.Fatal(err)
	}
}
