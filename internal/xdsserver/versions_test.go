package xdsserver

import (
	"fmt"
	"slices"
	"testing"
	"time"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// routed is cluster c1 (whose timeout marks it), listener l1 taking its
// routes from RDS, and route configuration r1 sending to c1 with weight w.
func routed(t *testing.T, timeout time.Duration, w uint32) map[string][]types.Resource {
	rc := &routev3.RouteConfiguration{Name: "r1", VirtualHosts: []*routev3.VirtualHost{{
		Name:    "vh",
		Domains: []string{"*"},
		Routes: []*routev3.Route{{
			Match: &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"}},
			Action: &routev3.Route_Route{Route: &routev3.RouteAction{ClusterSpecifier: &routev3.RouteAction_WeightedClusters{
				WeightedClusters: &routev3.WeightedCluster{Clusters: []*routev3.WeightedCluster_ClusterWeight{
					{Name: "c1", Weight: wrapperspb.UInt32(w)},
				}},
			}}},
		}},
	}}}
	return map[string][]types.Resource{
		resourcev3.ClusterType:  {cluster("c1", timeout)},
		resourcev3.ListenerType: {listener(t, "l1", "r1")},
		resourcev3.RouteType:    {rc},
	}
}

// ackRDS accepts an RDS response, naming the route configuration again as
// Envoy does.
func ackRDS(t *testing.T, st discoveryv3.AggregatedDiscoveryService_StreamAggregatedResourcesClient, resp *discoveryv3.DiscoveryResponse) {
	t.Helper()
	req := &discoveryv3.DiscoveryRequest{TypeUrl: resp.GetTypeUrl(), VersionInfo: resp.GetVersionInfo(),
		ResponseNonce: resp.GetNonce(), ResourceNames: []string{"r1"}}
	if err := st.Send(req); err != nil {
		t.Fatal(err)
	}
}

// TestSotWSendsOnlyChangedTypes: every type is versioned on its own, so a
// change to a route configuration alone reaches a state-of-the-world stream
// as one RDS response, and a cluster change as one CDS response; Status
// shows each type at the version that last changed it.
func TestSotWSendsOnlyChangedTypes(t *testing.T) {
	h := start(t)
	if err := h.srv.SetResources(nodeA, "v1", routed(t, time.Second, 10)); err != nil {
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
	h.waitAcked(t, "v1", "v1", "v1")

	// Only the route changes: had CDS and LDS been sent again, ordered ADS
	// would have sent them first.
	if err := h.srv.SetResources(nodeA, "v2", routed(t, time.Second, 20)); err != nil {
		t.Fatal(err)
	}
	rds := recvTypes(t, st, resourcev3.RouteType)[0]
	if rds.GetVersionInfo() != "v2" {
		t.Fatalf("RDS version %q, want v2", rds.GetVersionInfo())
	}
	ackRDS(t, st, rds)
	h.waitAcked(t, "v1", "v1", "v2")

	// Only the cluster changes; then only the route again. Had v3 sent LDS
	// or RDS, they would arrive before v4's RDS.
	if err := h.srv.SetResources(nodeA, "v3", routed(t, 2*time.Second, 20)); err != nil {
		t.Fatal(err)
	}
	cds := recvTypes(t, st, resourcev3.ClusterType)[0]
	if cds.GetVersionInfo() != "v3" || !slices.Equal(names(t, cds), []string{"c1"}) {
		t.Fatalf("CDS version %q resources %v, want v3 [c1]", cds.GetVersionInfo(), names(t, cds))
	}
	ack(t, st, cds)
	if err := h.srv.SetResources(nodeA, "v4", routed(t, 2*time.Second, 30)); err != nil {
		t.Fatal(err)
	}
	rds = recvTypes(t, st, resourcev3.RouteType)[0]
	if rds.GetVersionInfo() != "v4" {
		t.Fatalf("RDS version %q, want v4", rds.GetVersionInfo())
	}
	ackRDS(t, st, rds)
	h.waitAcked(t, "v3", "v1", "v4")
	h.checkMetrics(t, map[string]float64{
		`trellis_xds_pushes_total{type="Cluster"}`:            2,
		`trellis_xds_pushes_total{type="Listener"}`:           1,
		`trellis_xds_pushes_total{type="RouteConfiguration"}`: 3,
	})
	if ns := h.srv.Status(); len(ns) != 1 || ns[0].DesiredVersion != "v4" {
		t.Fatalf("status %+v, want desired version v4", ns)
	}
}

// waitAcked waits until nodeA's stream has ACKed CDS, LDS and RDS at the
// given versions and checks those are the desired versions of the types.
func (h *harness) waitAcked(t *testing.T, cds, lds, rds string) {
	t.Helper()
	want := map[string]string{resourcev3.ClusterType: cds, resourcev3.ListenerType: lds, resourcev3.RouteType: rds}
	eventually(t, fmt.Sprintf("ACKs of CDS %s, LDS %s, RDS %s", cds, lds, rds), func() bool {
		for typ, v := range want {
			if ts, _ := h.typeStatus(nodeA, typ); ts.AckedVersion != v {
				return false
			}
		}
		return true
	})
	for typ, v := range want {
		if ts, _ := h.typeStatus(nodeA, typ); ts.DesiredVersion != v || ts.SentVersion != v {
			t.Errorf("%s status %+v, want desired and sent %s", typ, ts, v)
		}
	}
}

// TestDeltaStreamAfterSnapshot: a delta stream that opens after the
// node's snapshot was set gets every resource once, then, when one cluster
// changes, that cluster alone.
func TestDeltaStreamAfterSnapshot(t *testing.T) {
	h := start(t)
	const node = "mesh/m/virtualNode/late"
	if err := h.srv.SetResources(node, "v1", twoClusters(t, time.Second, true)); err != nil {
		t.Fatal(err)
	}
	st := h.deltaSubscribe(t, node)
	resp, got, _ := recvDelta(t, st, resourcev3.ClusterType)
	if !slices.Equal(got, []string{"c1", "c2"}) {
		t.Fatalf("v1 clusters %v", got)
	}
	ackDelta(t, st, resp, "")
	resp, _, _ = recvDelta(t, st, resourcev3.ListenerType)
	ackDelta(t, st, resp, "")
	eventually(t, "delta stream identified", func() bool {
		l, _ := h.typeStatus(node, resourcev3.ListenerType)
		return l.AckedVersion == "v1"
	})
	if err := h.srv.SetResources(node, "v2", twoClusters(t, 2*time.Second, true)); err != nil {
		t.Fatal(err)
	}
	resp, got, removed := recvDelta(t, st, resourcev3.ClusterType)
	if !slices.Equal(got, []string{"c2"}) || len(removed) != 0 || resp.GetSystemVersionInfo() != "v2" {
		t.Fatalf("v2 sent %v removed %v version %q, want only c2 at v2", got, removed, resp.GetSystemVersionInfo())
	}
}

// TestSotWWaitsForNamedRoutes: an RDS request naming a route configuration
// the snapshot does not have yet (Envoy asks for what a new listener names)
// is answered, with every name it asked for, once the snapshot has them,
// without Envoy asking again.
func TestSotWWaitsForNamedRoutes(t *testing.T) {
	h := start(t)
	if err := h.srv.SetResources(nodeA, "v1", routed(t, time.Second, 10)); err != nil {
		t.Fatal(err)
	}
	st, _ := h.sotw(t)
	subscribe(t, st, nodeA)
	for _, r := range recvTypes(t, st, resourcev3.ClusterType, resourcev3.ListenerType) {
		ack(t, st, r)
	}
	both := &discoveryv3.DiscoveryRequest{TypeUrl: resourcev3.RouteType, ResourceNames: []string{"r1", "r2"}}
	if err := st.Send(both); err != nil {
		t.Fatal(err)
	}
	v2 := routed(t, time.Second, 10)
	r2 := proto.Clone(v2[resourcev3.RouteType][0]).(*routev3.RouteConfiguration)
	r2.Name = "r2"
	v2[resourcev3.RouteType] = append(v2[resourcev3.RouteType], r2)
	v2[resourcev3.ListenerType] = append(v2[resourcev3.ListenerType], listener(t, "l2", "r2"))
	time.Sleep(50 * time.Millisecond) // the request is in: only r1 exists
	if err := h.srv.SetResources(nodeA, "v2", v2); err != nil {
		t.Fatal(err)
	}
	for {
		resp := recvTypes(t, st, "")[0]
		if resp.GetTypeUrl() == resourcev3.ListenerType {
			ack(t, st, resp)
			continue
		}
		if got := names(t, resp); resp.GetTypeUrl() != resourcev3.RouteType || !slices.Equal(got, []string{"r1", "r2"}) {
			t.Fatalf("got %s %v, want RDS r1 and r2", resp.GetTypeUrl(), got)
		}
		return
	}
}
