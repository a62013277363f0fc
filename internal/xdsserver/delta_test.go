package xdsserver

import (
	"context"
	"slices"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
)

type deltaStream = discoveryv3.AggregatedDiscoveryService_DeltaAggregatedResourcesClient

// recvDelta receives one delta response of type typ and returns the names
// it carries and the names it removes.
func recvDelta(t *testing.T, st deltaStream, typ string) (*discoveryv3.DeltaDiscoveryResponse, []string, []string) {
	t.Helper()
	resp, err := st.Recv()
	if err != nil {
		t.Fatalf("recv %s: %v", typ, err)
	}
	if resp.GetTypeUrl() != typ {
		t.Fatalf("got %s, want %s", resp.GetTypeUrl(), typ)
	}
	var got []string
	for _, r := range resp.GetResources() {
		got = append(got, r.GetName())
	}
	slices.Sort(got)
	removed := slices.Sorted(slices.Values(resp.GetRemovedResources()))
	return resp, got, removed
}

func ackDelta(t *testing.T, st deltaStream, resp *discoveryv3.DeltaDiscoveryResponse, nackMsg string) {
	t.Helper()
	req := &discoveryv3.DeltaDiscoveryRequest{TypeUrl: resp.GetTypeUrl(), ResponseNonce: resp.GetNonce()}
	if nackMsg != "" {
		req.ErrorDetail = statusProto(nackMsg)
	}
	if err := st.Send(req); err != nil {
		t.Fatal(err)
	}
}

// twoClusters is c1, c2 (whose timeout marks the version) and listener l1.
func twoClusters(t *testing.T, c2Timeout time.Duration, withC1 bool) map[string][]types.Resource {
	cs := []types.Resource{cluster("c2", c2Timeout)}
	if withC1 {
		cs = append(cs, cluster("c1", time.Second))
	}
	return map[string][]types.Resource{resourcev3.ClusterType: cs, resourcev3.ListenerType: {listener(t, "l1", "")}}
}

// TestDeltaSendsOnlyChanges: a delta stream opened before the node has a
// snapshot gets everything once, then only the cluster that changed, then
// the removal of the one that went away.
func TestDeltaSendsOnlyChanges(t *testing.T) {
	h := start(t)
	const node = "mesh/m/virtualGateway/gw"
	st := h.deltaSubscribe(t, node)
	if ev := h.nextEvent(t); ev.NodeID != node || !ev.Connected {
		t.Fatalf("event %+v", ev)
	}

	if err := h.srv.SetResources(node, "v1", twoClusters(t, time.Second, true)); err != nil {
		t.Fatal(err)
	}
	resp, got, _ := recvDelta(t, st, resourcev3.ClusterType)
	if !slices.Equal(got, []string{"c1", "c2"}) || resp.GetSystemVersionInfo() != "v1" {
		t.Fatalf("v1 clusters %v version %q", got, resp.GetSystemVersionInfo())
	}
	ackDelta(t, st, resp, "")
	resp, got, _ = recvDelta(t, st, resourcev3.ListenerType)
	if !slices.Equal(got, []string{"l1"}) {
		t.Fatalf("v1 listeners %v", got)
	}
	ackDelta(t, st, resp, "")

	if err := h.srv.SetResources(node, "v2", twoClusters(t, 2*time.Second, true)); err != nil {
		t.Fatal(err)
	}
	resp, got, removed := recvDelta(t, st, resourcev3.ClusterType)
	if !slices.Equal(got, []string{"c2"}) || len(removed) != 0 || resp.GetSystemVersionInfo() != "v2" {
		t.Fatalf("v2 sent %v removed %v version %q, want only c2", got, removed, resp.GetSystemVersionInfo())
	}
	ackDelta(t, st, resp, "")
	eventually(t, "delta v2 ACK", func() bool {
		c, _ := h.typeStatus(node, resourcev3.ClusterType)
		return c.AckedVersion == "v2"
	})
	h.deltaRemoval(t, st, node)
}

// deltaSubscribe opens a delta stream for node, wildcard CDS and LDS.
func (h *harness) deltaSubscribe(t *testing.T, node string) deltaStream {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	t.Cleanup(cancel)
	st, err := h.client(t).DeltaAggregatedResources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i, typ := range []string{resourcev3.ClusterType, resourcev3.ListenerType} {
		req := &discoveryv3.DeltaDiscoveryRequest{TypeUrl: typ}
		if i == 0 {
			req.Node = &corev3.Node{Id: node}
		}
		if err := st.Send(req); err != nil {
			t.Fatal(err)
		}
	}
	return st
}

// deltaRemoval drops c1 in v3 and NACKs the removal. Had the unchanged
// listener been resent for v2, it would arrive before this response.
func (h *harness) deltaRemoval(t *testing.T, st deltaStream, node string) {
	t.Helper()
	if err := h.srv.SetResources(node, "v3", twoClusters(t, 2*time.Second, false)); err != nil {
		t.Fatal(err)
	}
	resp, got, removed := recvDelta(t, st, resourcev3.ClusterType)
	if len(got) != 0 || !slices.Equal(removed, []string{"c1"}) {
		t.Fatalf("v3 sent %v removed %v, want c1 removed", got, removed)
	}
	ackDelta(t, st, resp, "cannot remove c1")
	eventually(t, "delta NACK", func() bool {
		c, _ := h.typeStatus(node, resourcev3.ClusterType)
		return c.LastNACK != nil && c.LastNACK.Version == "v3" && c.AckedVersion == "v2"
	})
	l, _ := h.typeStatus(node, resourcev3.ListenerType)
	if l.AckedVersion != "v1" || h.srv.Status()[0].Stream != "delta" {
		t.Fatalf("listener status %+v, stream %q", l, h.srv.Status()[0].Stream)
	}
}
