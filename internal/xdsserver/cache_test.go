package xdsserver

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
)

// TestSharedResourcesManyStreams: nodes handed the same resource objects
// get responses that share them, concurrently, and each stream follows
// every update (run under -race in CI).
func TestSharedResourcesManyStreams(t *testing.T) {
	h := start(t)
	const nodes, updates = 12, 4
	set := func(v int) {
		shared := routed(t, time.Second, uint32(10+v))
		for i := range nodes {
			if err := h.srv.SetResources(fmt.Sprintf("mesh/m/virtualNode/n%d", i), fmt.Sprintf("v%d", v), shared); err != nil {
				t.Error(err)
			}
		}
	}
	set(0)
	var wg sync.WaitGroup
	for i := range nodes {
		st, _ := h.sotw(t)
		subscribe(t, st, fmt.Sprintf("mesh/m/virtualNode/n%d", i))
		if err := st.Send(&discoveryv3.DiscoveryRequest{TypeUrl: resourcev3.RouteType, ResourceNames: []string{"r1"}}); err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seen := 0; seen <= updates; {
				resp, err := st.Recv()
				if err != nil {
					t.Errorf("node %d: %v", i, err)
					return
				}
				if resp.GetTypeUrl() == resourcev3.RouteType {
					seen++
					ackRDSQuiet(st, resp)
					continue
				}
				_ = st.Send(&discoveryv3.DiscoveryRequest{TypeUrl: resp.GetTypeUrl(), VersionInfo: resp.GetVersionInfo(), ResponseNonce: resp.GetNonce()})
			}
		}()
	}
	for v := 1; v <= updates; v++ {
		eventually(t, "every stream ACKed the routes", func() bool {
			n := 0
			for _, ns := range h.srv.Status() {
				if ns.Types[resourcev3.RouteType].AckedVersion == fmt.Sprintf("v%d", v-1) {
					n++
				}
			}
			return n == nodes
		})
		set(v)
	}
	wg.Wait()
}

// ackRDSQuiet is ackRDS for a goroutine (no t.Fatal).
func ackRDSQuiet(st discoveryv3.AggregatedDiscoveryService_StreamAggregatedResourcesClient, resp *discoveryv3.DiscoveryResponse) {
	_ = st.Send(&discoveryv3.DiscoveryRequest{TypeUrl: resp.GetTypeUrl(), VersionInfo: resp.GetVersionInfo(),
		ResponseNonce: resp.GetNonce(), ResourceNames: []string{"r1"}})
}

// TestSotWExplicitWildcard: a state-of-the-world request naming "*" (how
// newer Envoys say wildcard alongside names) gets every resource.
func TestSotWExplicitWildcard(t *testing.T) {
	h := start(t)
	if err := h.srv.SetResources(nodeA, "v1", twoClusters(t, time.Second, true)); err != nil {
		t.Fatal(err)
	}
	st, _ := h.sotw(t)
	req := &discoveryv3.DiscoveryRequest{Node: &corev3.Node{Id: nodeA}, TypeUrl: resourcev3.ClusterType, ResourceNames: []string{"*"}}
	if err := st.Send(req); err != nil {
		t.Fatal(err)
	}
	if got := names(t, recvTypes(t, st, resourcev3.ClusterType)[0]); !slices.Equal(got, []string{"c1", "c2"}) {
		t.Fatalf("clusters %v, want c1 and c2", got)
	}
}
