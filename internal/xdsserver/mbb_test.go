package xdsserver

import (
	"context"
	"slices"
	"testing"
	"time"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// routedTo is clusters cs, listener l1 and route configuration r1
// splitting everything evenly across them: with one cluster, what a route
// with all its weight on one target becomes.
func routedTo(t *testing.T, cs ...string) map[string][]types.Resource {
	var clusters []types.Resource
	split := &routev3.WeightedCluster{}
	for _, c := range cs {
		clusters = append(clusters, cluster(c, time.Second))
		split.Clusters = append(split.Clusters, &routev3.WeightedCluster_ClusterWeight{Name: c, Weight: wrapperspb.UInt32(1)})
	}
	action := &routev3.RouteAction{ClusterSpecifier: &routev3.RouteAction_WeightedClusters{WeightedClusters: split}}
	if len(cs) == 1 {
		action.ClusterSpecifier = &routev3.RouteAction_Cluster{Cluster: cs[0]}
	}
	rc := &routev3.RouteConfiguration{Name: "r1", VirtualHosts: []*routev3.VirtualHost{{
		Name: "vh", Domains: []string{"*"},
		Routes: []*routev3.Route{{
			Match:  &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"}},
			Action: &routev3.Route_Route{Route: action},
		}},
	}}}
	return map[string][]types.Resource{
		resourcev3.ClusterType:  clusters,
		resourcev3.ListenerType: {listener(t, "l1", "r1")},
		resourcev3.RouteType:    {rc},
	}
}

// TestPlanStages: which stages a change takes, and how many clusters
// they hold.
func TestPlanStages(t *testing.T) {
	prepared := newPreparedCache()
	build := func(prev *nodeVersions, version string, res map[string][]types.Resource) *nodeVersions {
		p, err := newPendingSnapshot(prepared, prev, res)
		if err != nil {
			t.Fatal(err)
		}
		return p.version(prev, version, time.Now())
	}
	blue := build(nil, "v1", routedTo(t, "blue"))
	for _, tc := range []struct {
		name     string
		cur      *nodeVersions
		target   map[string][]types.Resource
		inPlan   bool
		want     []string
		wantHeld int
	}{
		{"first snapshot", nil, routedTo(t, "green"), false, nil, 0},
		{"same content", blue, routedTo(t, "blue"), false, nil, 0},
		{"shift", blue, routedTo(t, "green"), false, []string{"make", "switch", "break"}, 1},
		{"canary added", blue, routedTo(t, "blue", "green"), false, []string{"make", "break"}, 0},
		{"canary done", build(nil, "v1", routedTo(t, "blue", "green")), routedTo(t, "green"), false, []string{"switch", "break"}, 1},
		{"other cluster and listener", blue, resources(t, time.Second), false, []string{"make", "switch", "break"}, 1},
		{"unused cluster removed", build(nil, "v1", twoClusters(t, time.Second, true)), twoClusters(t, time.Second, false), false, nil, 0},
		{"same target again, plan under way", blue, routedTo(t, "blue"), true, nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			target := build(tc.cur, "v2", tc.target)
			stages, held := planStages(tc.cur, target, false, tc.inPlan, time.Now())
			var got []string
			for _, s := range stages {
				got = append(got, s.name)
			}
			if !slices.Equal(got, tc.want) || held != tc.wantHeld {
				t.Fatalf("stages %v holding %d, want %v holding %d", got, held, tc.want, tc.wantHeld)
			}
			if len(stages) > 0 && stages[len(stages)-1].snap != target {
				t.Fatal("the last stage is not the target")
			}
		})
	}
}

// published is the version of type t in the node's published snapshot.
func (h *harness) published(node string, t types.ResponseType) string {
	return h.srv.cache.snapshot(node).types[t].version
}

// sotwAtBlue connects a state-of-the-world stream to nodeA routed to blue
// (v1) and acknowledges everything.
func (h *harness) sotwAtBlue(t *testing.T) discoveryv3.AggregatedDiscoveryService_StreamAggregatedResourcesClient {
	t.Helper()
	if err := h.srv.SetResources(nodeA, "v1", routedTo(t, "blue")); err != nil {
		t.Fatal(err)
	}
	st, _ := h.sotw(t)
	subscribe(t, st, nodeA)
	for _, r := range recvTypes(t, st, resourcev3.ClusterType, resourcev3.ListenerType) {
		ack(t, st, r)
	}
	if err := st.Send(&discoveryv3.DiscoveryRequest{TypeUrl: resourcev3.RouteType, ResourceNames: []string{"r1"}}); err != nil {
		t.Fatal(err)
	}
	ackRDS(t, st, recvTypes(t, st, resourcev3.RouteType)[0])
	eventually(t, "v1 routes acknowledged", func() bool {
		r, _ := h.typeStatus(nodeA, resourcev3.RouteType)
		return r.AckedVersion == "v1"
	})
	return st
}

// expectSotW receives the next response and checks its type, version and
// resource names.
func expectSotW(t *testing.T, st discoveryv3.AggregatedDiscoveryService_StreamAggregatedResourcesClient, typeURL, version string, want ...string) *discoveryv3.DiscoveryResponse {
	t.Helper()
	r := recvTypes(t, st, "")[0]
	if got := names(t, r); r.GetTypeUrl() != typeURL || r.GetVersionInfo() != version || !slices.Equal(got, want) {
		t.Fatalf("got %s %s %v, want %s %s %v", r.GetTypeUrl(), r.GetVersionInfo(), got, typeURL, version, want)
	}
	return r
}

// TestMBBSotWShift: a route moved from blue to green reaches a
// state-of-the-world stream as clusters blue and green, then (after their
// ACK) the routes to green, then (after theirs) green alone.
func TestMBBSotWShift(t *testing.T) {
	h := start(t)
	st := h.sotwAtBlue(t)
	if err := h.srv.SetResources(nodeA, "v2", routedTo(t, "green")); err != nil {
		t.Fatal(err)
	}
	cds := expectSotW(t, st, resourcev3.ClusterType, "v2+mbb", "blue", "green")
	if v := h.published(nodeA, types.Route); v != "v1" {
		t.Fatalf("routes %s published before the clusters were acknowledged", v)
	}
	h.checkMetrics(t, map[string]float64{"trellis_xds_mbb_held_clusters": 1, `trellis_xds_mbb_stages_total{stage="make"}`: 1})
	ack(t, st, cds)
	rds := expectSotW(t, st, resourcev3.RouteType, "v2", "r1")
	if v := h.published(nodeA, types.Cluster); v != "v2+mbb" {
		t.Fatalf("clusters %s published before the routes were acknowledged", v)
	}
	ackRDS(t, st, rds)
	ack(t, st, expectSotW(t, st, resourcev3.ClusterType, "v2", "green"))
	h.checkMetrics(t, map[string]float64{"trellis_xds_mbb_held_clusters": 0, `trellis_xds_mbb_stages_total{stage="switch"}`: 1})
}

// TestMBBNACKHolds: a stream that rejects the new routes still runs the
// old ones, so the cluster they use stays; the next snapshot moves on.
func TestMBBNACKHolds(t *testing.T) {
	h := start(t)
	st := h.sotwAtBlue(t)
	if err := h.srv.SetResources(nodeA, "v2", routedTo(t, "green")); err != nil {
		t.Fatal(err)
	}
	ack(t, st, expectSotW(t, st, resourcev3.ClusterType, "v2+mbb", "blue", "green"))
	rds := expectSotW(t, st, resourcev3.RouteType, "v2", "r1")
	if err := st.Send(&discoveryv3.DiscoveryRequest{TypeUrl: resourcev3.RouteType, VersionInfo: "v1", ResponseNonce: rds.GetNonce(),
		ResourceNames: []string{"r1"}, ErrorDetail: statusProto("no")}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "routes NACKed", func() bool {
		r, _ := h.typeStatus(nodeA, resourcev3.RouteType)
		return r.LastNACK != nil
	})
	if v := h.published(nodeA, types.Cluster); v != "v2+mbb" {
		t.Fatalf("clusters %s after the routes were rejected, want v2+mbb (blue kept)", v)
	}
	// Back to blue: its routes, then green goes.
	if err := h.srv.SetResources(nodeA, "v3", routedTo(t, "blue")); err != nil {
		t.Fatal(err)
	}
	ackRDS(t, st, expectSotW(t, st, resourcev3.RouteType, "v3", "r1"))
	expectSotW(t, st, resourcev3.ClusterType, "v3", "blue")
}

// TestMBBDeltaShift: the same shift on a delta stream: green added, the
// routes, then blue removed, each after the previous ACK.
func TestMBBDeltaShift(t *testing.T) {
	h := start(t)
	if err := h.srv.SetResources(nodeA, "v1", routedTo(t, "blue")); err != nil {
		t.Fatal(err)
	}
	st := h.deltaSubscribe(t, nodeA)
	for _, typ := range []string{resourcev3.ClusterType, resourcev3.ListenerType} {
		resp, _, _ := recvDelta(t, st, typ)
		ackDelta(t, st, resp, "")
	}
	if err := st.Send(&discoveryv3.DeltaDiscoveryRequest{TypeUrl: resourcev3.RouteType, ResourceNamesSubscribe: []string{"r1"}}); err != nil {
		t.Fatal(err)
	}
	resp, _, _ := recvDelta(t, st, resourcev3.RouteType)
	ackDelta(t, st, resp, "")
	eventually(t, "v1 routes acknowledged", func() bool {
		r, _ := h.typeStatus(nodeA, resourcev3.RouteType)
		return r.AckedVersion == "v1"
	})

	if err := h.srv.SetResources(nodeA, "v2", routedTo(t, "green")); err != nil {
		t.Fatal(err)
	}
	resp, got, removed := recvDelta(t, st, resourcev3.ClusterType)
	if !slices.Equal(got, []string{"green"}) || len(removed) != 0 {
		t.Fatalf("make: sent %v removed %v, want green added", got, removed)
	}
	ackDelta(t, st, resp, "")
	resp, got, _ = recvDelta(t, st, resourcev3.RouteType)
	if !slices.Equal(got, []string{"r1"}) {
		t.Fatalf("switch: sent %v, want r1", got)
	}
	if v := h.published(nodeA, types.Cluster); v != "v2+mbb" {
		t.Fatalf("clusters %s published before the routes were acknowledged", v)
	}
	ackDelta(t, st, resp, "")
	resp, got, removed = recvDelta(t, st, resourcev3.ClusterType)
	if len(got) != 0 || !slices.Equal(removed, []string{"blue"}) {
		t.Fatalf("break: sent %v removed %v, want blue removed", got, removed)
	}
	ackDelta(t, st, resp, "")
}

// TestMBBBound: a plan that would keep more clusters than the bound is
// not made: the target is published at once, and counted.
func TestMBBBound(t *testing.T) {
	for _, tc := range []struct {
		name    string
		maxHeld int
		want    string // the first cluster response's version
	}{{"at the bound", 1, "v2+mbb"}, {"past the bound", 0, "v2"}} {
		t.Run(tc.name, func(t *testing.T) {
			h := start(t)
			h.srv.cache.mu.Lock()
			h.srv.cache.maxHeld = tc.maxHeld
			h.srv.cache.mu.Unlock()
			st := h.sotwAtBlue(t)
			if err := h.srv.SetResources(nodeA, "v2", routedTo(t, "green")); err != nil {
				t.Fatal(err)
			}
			if r := recvTypes(t, st, resourcev3.ClusterType)[0]; r.GetVersionInfo() != tc.want {
				t.Fatalf("clusters %s, want %s", r.GetVersionInfo(), tc.want)
			}
			skipped := 0.0
			if tc.maxHeld == 0 {
				skipped = 1
			}
			h.checkMetrics(t, map[string]float64{"trellis_xds_mbb_skipped_total": skipped})
		})
	}
}

// TestMBBNoStream: a node with no stream open gets its target at once.
func TestMBBNoStream(t *testing.T) {
	h := start(t)
	for i, c := range []string{"blue", "green"} {
		if err := h.srv.SetResources(nodeA, "v"+string(rune('1'+i)), routedTo(t, c)); err != nil {
			t.Fatal(err)
		}
	}
	if v := h.published(nodeA, types.Cluster); v != "v2" {
		t.Fatalf("clusters %s, want v2", v)
	}
	h.checkMetrics(t, map[string]float64{"trellis_xds_mbb_held_clusters": 0})
}

// TestMBBStageTimeout: a stream that never acknowledges does not hold its
// node: past the stage timeout the next stage follows (counted).
func TestMBBStageTimeout(t *testing.T) {
	h := start(t)
	st := h.sotwAtBlue(t)
	h.srv.cache.mu.Lock()
	h.srv.cache.stageTimeout = 0
	h.srv.cache.mu.Unlock()
	if err := h.srv.SetResources(nodeA, "v2", routedTo(t, "green")); err != nil {
		t.Fatal(err)
	}
	cds := expectSotW(t, st, resourcev3.ClusterType, "v2+mbb", "blue", "green")
	expectSotW(t, st, resourcev3.RouteType, "v2", "r1") // neither acknowledged
	// A state-of-the-world stream is sent clusters again once it asks.
	ack(t, st, cds)
	expectSotW(t, st, resourcev3.ClusterType, "v2", "green")
	h.checkMetrics(t, map[string]float64{"trellis_xds_mbb_timeouts_total": 2, "trellis_xds_mbb_held_clusters": 0})
}

// TestMBBForgetsClosedStreams: the cache's view of a node's streams ends
// with them, so a node whose proxies reconnect again and again does not
// grow it.
func TestMBBForgetsClosedStreams(t *testing.T) {
	h := start(t)
	views := func() int {
		h.srv.cache.mu.Lock()
		defer h.srv.cache.mu.Unlock()
		return len(h.srv.cache.nodes[nodeA].streams)
	}
	for range 3 {
		ctx, cancel := context.WithCancel(context.Background())
		st, err := h.client(t).StreamAggregatedResources(ctx)
		if err != nil {
			t.Fatal(err)
		}
		subscribe(t, st, nodeA)
		if err := h.srv.SetResources(nodeA, "v1", routedTo(t, "blue")); err != nil {
			t.Fatal(err)
		}
		recvTypes(t, st, resourcev3.ClusterType, resourcev3.ListenerType) // answered: no watch open
		eventually(t, "the stream seen", func() bool { return views() == 1 })
		cancel()
		eventually(t, "the closed stream forgotten", func() bool { return views() == 0 })
	}
}
