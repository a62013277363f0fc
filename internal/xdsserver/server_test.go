package xdsserver

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	statuspb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"
)

const nodeA = "mesh/m/virtualNode/a"

func statusProto(msg string) *statuspb.Status {
	return &statuspb.Status{Code: int32(codes.InvalidArgument), Message: msg}
}

// subscribe sends the initial wildcard CDS and LDS requests as node.
func subscribe(t *testing.T, st discoveryv3.AggregatedDiscoveryService_StreamAggregatedResourcesClient, node string) {
	t.Helper()
	for i, typ := range []string{resourcev3.ClusterType, resourcev3.ListenerType} {
		req := &discoveryv3.DiscoveryRequest{TypeUrl: typ}
		if i == 0 { // Envoy may name itself on the first request only
			// Metadata without a shape description: the snapshot key is
			// the node id (NodeKey).
			md, err := structpb.NewStruct(map[string]any{"aws.appmesh.platformInfo": map[string]any{"k8sVersion": "v1.30"}})
			if err != nil {
				t.Fatal(err)
			}
			req.Node = &corev3.Node{Id: node, Metadata: md}
		}
		if err := st.Send(req); err == io.EOF {
			return // the server ended the stream (a refusal): Recv has the status
		} else if err != nil {
			t.Fatal(err)
		}
	}
}

// recvTypes receives one response per wanted type, in the given order
// ("" takes any type).
func recvTypes(t *testing.T, st discoveryv3.AggregatedDiscoveryService_StreamAggregatedResourcesClient, want ...string) []*discoveryv3.DiscoveryResponse {
	t.Helper()
	var out []*discoveryv3.DiscoveryResponse
	for _, typ := range want {
		resp, err := st.Recv()
		if err != nil {
			t.Fatalf("recv %s: %v", typ, err)
		}
		if typ != "" && resp.GetTypeUrl() != typ {
			t.Fatalf("got %s, want %s (ordered ADS)", resp.GetTypeUrl(), typ)
		}
		out = append(out, resp)
	}
	return out
}

// TestSotWUnknownNodeThenACKAndNACK follows a proxy that connects before
// the control plane has anything for it, gets its first config, ACKs it,
// NACKs the next one, and is not sent the rejected version again.
func TestSotWUnknownNodeThenACKAndNACK(t *testing.T) {
	h := start(t)
	st, closeStream := h.sotw(t)
	subscribe(t, st, nodeA)
	if ev := h.nextEvent(t); ev.NodeID != nodeA || !ev.Connected || ev.Key != nodeA || ev.Metadata["aws.appmesh.platformInfo"] == nil {
		t.Fatalf("event %+v, want %s connected with its metadata", ev, nodeA)
	}
	if got := h.srv.ConnectedNodes(); !slices.Equal(got, []string{nodeA}) {
		t.Fatalf("ConnectedNodes = %v", got)
	}
	h.firstConfig(t, st)
	h.rejectSecond(t, st)
	h.checkMetrics(t, map[string]float64{
		`trellis_xds_acks_total{type="Cluster"}`:    2,
		`trellis_xds_acks_total{type="Listener"}`:   1,
		`trellis_xds_nacks_total{type="Listener"}`:  1,
		`trellis_xds_pushes_total{type="Listener"}`: 2,
		`trellis_xds_connected_proxies`:             1,
		`trellis_xds_connects_total`:                1,
		`trellis_xds_convergence_seconds`:           3, // ACKs of the snapshot's versions
	})
	h.checkStatusHandler(t)

	// The NACKed version is not sent again; the next response is the fix.
	if err := h.srv.SetResources(nodeA, "v3", resources(t, 3*time.Second)); err != nil {
		t.Fatal(err)
	}
	for _, r := range recvTypes(t, st, resourcev3.ClusterType, resourcev3.ListenerType) {
		if r.GetVersionInfo() != "v3" {
			t.Fatalf("%s version %q after NACK, want v3", r.GetTypeUrl(), r.GetVersionInfo())
		}
	}

	closeStream()
	if ev := h.nextEvent(t); ev.Key != nodeA || ev.Connected {
		t.Fatalf("event %+v, want %s disconnected", ev, nodeA)
	}
	eventually(t, "no node connected", func() bool { return len(h.srv.ConnectedNodes()) == 0 })
}

// firstConfig publishes v1 to the waiting stream, ACKs it and sees the ACK
// in Status.
func (h *harness) firstConfig(t *testing.T, st discoveryv3.AggregatedDiscoveryService_StreamAggregatedResourcesClient) {
	t.Helper()
	if err := h.srv.SetResources(nodeA, "v1", resources(t, time.Second)); err != nil {
		t.Fatal(err)
	}
	v1 := recvTypes(t, st, resourcev3.ClusterType, resourcev3.ListenerType)
	if got := names(t, v1[0]); !slices.Equal(got, []string{"c1"}) {
		t.Fatalf("clusters %v", got)
	}
	if got := names(t, v1[1]); !slices.Equal(got, []string{"l1"}) {
		t.Fatalf("listeners %v", got)
	}
	for _, r := range v1 {
		if r.GetVersionInfo() != "v1" {
			t.Fatalf("version %q", r.GetVersionInfo())
		}
		ack(t, st, r)
	}
	eventually(t, "v1 ACKed", func() bool {
		c, _ := h.typeStatus(nodeA, resourcev3.ClusterType)
		l, _ := h.typeStatus(nodeA, resourcev3.ListenerType)
		return c.AckedVersion == "v1" && l.AckedVersion == "v1"
	})
}

// rejectSecond publishes v2, ACKs its clusters, NACKs its listeners and
// checks Status and the Warn log.
func (h *harness) rejectSecond(t *testing.T, st discoveryv3.AggregatedDiscoveryService_StreamAggregatedResourcesClient) {
	t.Helper()
	if err := h.srv.SetResources(nodeA, "v2", resources(t, 2*time.Second)); err != nil {
		t.Fatal(err)
	}
	v2 := recvTypes(t, st, resourcev3.ClusterType, resourcev3.ListenerType)
	ack(t, st, v2[0])
	nack(t, st, v2[1], "v1", "listener l1: bad filter")
	eventually(t, "v2 NACK recorded", func() bool {
		l, _ := h.typeStatus(nodeA, resourcev3.ListenerType)
		return l.LastNACK != nil
	})
	l, _ := h.typeStatus(nodeA, resourcev3.ListenerType)
	if l.AckedVersion != "v1" || l.SentVersion != "v2" || l.LastNACK.Version != "v2" || l.LastNACK.Message != "listener l1: bad filter" {
		t.Fatalf("listener status %+v nack %+v", l, l.LastNACK)
	}
	eventually(t, "v2 cluster ACK", func() bool {
		c, _ := h.typeStatus(nodeA, resourcev3.ClusterType)
		return c.AckedVersion == "v2" && c.LastNACK == nil
	})
	if logs := h.logs.String(); !strings.Contains(logs, "level=WARN msg=\"xds NACK\"") || !strings.Contains(logs, "bad filter") {
		t.Errorf("NACK not logged at Warn:\n%s", logs)
	}
}

// checkMetrics compares gathered samples (name{labels} → value).
func (h *harness) checkMetrics(t *testing.T, want map[string]float64) {
	t.Helper()
	families, err := h.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			key := f.GetName()
			for _, l := range m.GetLabel() {
				key += "{" + l.GetName() + "=\"" + l.GetValue() + "\"}"
			}
			got[key] = m.GetCounter().GetValue() + m.GetGauge().GetValue() + float64(m.GetHistogram().GetSampleCount())
		}
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("metric %s = %v, want %v", k, got[k], v)
		}
	}
}

func (h *harness) checkStatusHandler(t *testing.T) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.srv.StatusHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/debug/xds?node="+nodeA, nil))
	var st []NodeStatus
	if err := json.Unmarshal(rec.Body.Bytes(), &st); err != nil || rec.Code != http.StatusOK {
		t.Fatalf("GET /debug/xds: %d %v\n%s", rec.Code, err, rec.Body)
	}
	if len(st) != 1 || st[0].Stream != "sotw" || st[0].DesiredVersion != "v2" || st[0].Types[resourcev3.ListenerType].LastNACK == nil {
		t.Fatalf("status JSON %s", rec.Body)
	}
	rec = httptest.NewRecorder()
	h.srv.StatusHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/debug/xds", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Fatalf("POST: %d", rec.Code)
	}
}

// TestInconsistentSnapshotRejected: a listener naming a route configuration
// the set lacks is refused and the node keeps serving the previous set.
func TestInconsistentSnapshotRejected(t *testing.T) {
	h := start(t)
	if err := h.srv.SetResources(nodeA, "v1", resources(t, time.Second)); err != nil {
		t.Fatal(err)
	}
	bad := map[string][]types.Resource{
		resourcev3.ClusterType:  {cluster("c1", time.Second)},
		resourcev3.ListenerType: {listener(t, "l1", "missing-routes")},
	}
	err := h.srv.SetResources(nodeA, "v2", bad)
	if !errors.Is(err, ErrInconsistent) || !strings.Contains(err.Error(), "missing-routes") {
		t.Fatalf("SetResources = %v, want ErrInconsistent naming missing-routes", err)
	}
	if err := h.srv.SetResources(nodeA, "v3", map[string][]types.Resource{"type.googleapis.com/no.Such": nil}); err == nil {
		t.Fatal("unknown type URL accepted")
	}
	st, _ := h.sotw(t)
	subscribe(t, st, nodeA)
	for _, r := range recvTypes(t, st, resourcev3.ClusterType, resourcev3.ListenerType) {
		if r.GetVersionInfo() != "v1" {
			t.Fatalf("%s version %q, want the kept v1", r.GetTypeUrl(), r.GetVersionInfo())
		}
	}
}

// TestInvalidNodeIDRefused: a stream naming no virtual node or gateway is
// ended with code 3 instead of waiting forever. Every refusal is counted;
// a burst of them is logged once.
func TestInvalidNodeIDRefused(t *testing.T) {
	h := start(t)
	for range 3 {
		st, _ := h.sotw(t)
		subscribe(t, st, "arn:aws:ecs:us-west-2:1:task-set/c/s/ts")
		_, err := st.Recv()
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "invalid node id") {
			t.Fatalf("Recv = %v, want InvalidArgument invalid node id", err)
		}
	}
	if n := h.srv.ConnectedNodes(); len(n) != 0 {
		t.Fatalf("ConnectedNodes = %v", n)
	}
	h.checkMetrics(t, map[string]float64{`trellis_xds_streams_refused_total{reason="invalid_node_id"}`: 3})
	if n := strings.Count(h.logs.String(), "xds stream refused"); n != 1 {
		t.Errorf("%d refusal log lines for a burst of 3, want 1", n)
	}
}

// TestReplicasShareNodeID: two Envoys of one virtual node are one
// connected node but two statuses; the node leaves with its last stream.
func TestReplicasShareNodeID(t *testing.T) {
	h := start(t)
	st1, close1 := h.sotw(t)
	subscribe(t, st1, nodeA)
	st2, close2 := h.sotw(t)
	subscribe(t, st2, nodeA)
	if ev := h.nextEvent(t); !ev.Connected {
		t.Fatalf("event %+v", ev)
	}
	eventually(t, "two streams", func() bool { return len(h.srv.Status()) == 2 })
	if n := h.srv.ConnectedNodes(); len(n) != 1 {
		t.Fatalf("ConnectedNodes = %v", n)
	}
	close1()
	eventually(t, "one stream", func() bool { return len(h.srv.Status()) == 1 })
	if len(h.srv.ConnectedNodes()) != 1 {
		t.Fatal("node left with a replica still connected")
	}
	close2()
	if ev := h.nextEvent(t); ev.Connected {
		t.Fatalf("event %+v", ev)
	}
	_ = st2
}

// TestClearNodeKeepsConnectedNodes: ClearNode leaves a node with an open
// stream alone (its watches would be lost with the snapshot) and drops the
// snapshot once the node is gone, so a returning proxy waits for new config.
func TestClearNodeKeepsConnectedNodes(t *testing.T) {
	h := start(t)
	if err := h.srv.SetResources(nodeA, "v1", resources(t, time.Second)); err != nil {
		t.Fatal(err)
	}
	st, closeStream := h.sotw(t)
	subscribe(t, st, nodeA)
	for _, r := range recvTypes(t, st, resourcev3.ClusterType, resourcev3.ListenerType) {
		ack(t, st, r)
	}
	h.srv.ClearNode(nodeA) // as if a stale disconnect event were handled late
	if err := h.srv.SetResources(nodeA, "v2", resources(t, 2*time.Second)); err != nil {
		t.Fatal(err)
	}
	for _, r := range recvTypes(t, st, resourcev3.ClusterType, resourcev3.ListenerType) {
		if r.GetVersionInfo() != "v2" {
			t.Fatalf("version %q after ClearNode of a connected node", r.GetVersionInfo())
		}
	}
	closeStream()
	eventually(t, "node gone", func() bool { return len(h.srv.ConnectedNodes()) == 0 })
	h.srv.ClearNode(nodeA)

	st2, _ := h.sotw(t)
	subscribe(t, st2, nodeA)
	eventually(t, "reconnected stream", func() bool { return len(h.srv.Status()) == 1 })
	if err := h.srv.SetResources(nodeA, "v3", resources(t, 3*time.Second)); err != nil {
		t.Fatal(err)
	}
	// Had v2 survived the clearing, it would have been sent first.
	for _, r := range recvTypes(t, st2, resourcev3.ClusterType, resourcev3.ListenerType) {
		if r.GetVersionInfo() != "v3" {
			t.Fatalf("version %q after ClearNode, want v3", r.GetVersionInfo())
		}
	}
}

// TestServeStopsWithOpenStreams: ending Serve's context ends open streams
// (status OK, Envoy's cue to reconnect) and Serve returns.
func TestServeStopsWithOpenStreams(t *testing.T) {
	srv := New(Options{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	h := &harness{srv: srv, addr: ln.Addr().String()}
	st, _ := h.sotw(t)
	subscribe(t, st, nodeA)
	h.nextEvent(t)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve = %v", err)
		}
	case <-time.After(wait):
		t.Fatal("Serve did not return")
	}
	if _, err := st.Recv(); err != io.EOF {
		t.Fatalf("Recv after stop = %v, want io.EOF (status OK)", err)
	}
	if ev := h.nextEvent(t); ev.Connected {
		t.Fatalf("event %+v", ev)
	}
}
