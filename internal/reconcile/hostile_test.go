package reconcile

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/trellis-mesh/trellis/internal/xdsserver"
)

// TestHostileChurnDoesNotStarveProxies: 3,000 streams with made-up node
// ids (nodes of a real mesh that do not exist, and meshes that do not
// exist) connect, send a request and disconnect, 30 at a time, while 200
// real proxies connect. Every real proxy is configured; once the churn
// ends the server holds exactly the real proxies, the unknown nodes left
// nothing behind (no proxy, no snapshot, no translation), and they never cost a translation of their own (they
// share the one empty configuration).
func TestHostileChurnDoesNotStarveProxies(t *testing.T) {
	const real, churn, churners = 200, 3000, 30
	m := newTestMesh(t, 2, real)
	srv := xdsserver.New(xdsserver.Options{Logger: quietLogger()})
	addr := serveXDS(t, srv)
	r := New(m.view, srv, Options{Logger: quietLogger()})
	runReconciler(t, r)
	ads := dialADS(t, addr, 4)
	heap0 := heapInUse()

	var started atomic.Int64
	var wg sync.WaitGroup
	for g := range churners {
		wg.Go(func() {
			for i := started.Add(1); i <= churn; i = started.Add(1) {
				id := fmt.Sprintf("mesh/bench/virtualNode/fake-%d", i)
				if i%2 == 0 {
					id = fmt.Sprintf("mesh/nomesh-%d/virtualGateway/gw", i)
				}
				if err := churnOnce(ads[g%len(ads)], id); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	errs := make(chan error, real)
	for i := range real {
		wg.Go(func() {
			id := fmt.Sprintf("mesh/bench/virtualNode/client-%d", i)
			ctx, cancel := context.WithCancel(context.Background())
			t.Cleanup(cancel) // the real proxies stay connected
			if err := configured(ctx, ads[i%len(ads)], id); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	eventually(t, "only the real proxies connected", func() bool { return len(srv.ConnectedNodes()) == real })
	eventually(t, "no unknown node left", func() bool { return r.unknown.Load() == 0 })
	// Clients without listeners share one own part and one outbound part;
	// an unknown node's empty configuration is that same own part.
	if n := r.table.size(); n != 2 {
		t.Errorf("%d translations in use, want 2 (the churn left some behind)", n)
	}
	t.Logf("heap in use: %d KiB before, %d KiB after %d churning streams", heap0>>10, heapInUse()>>10, churn)
}

// dialADS opens n connections that close with the test.
func dialADS(t *testing.T, addr string, n int) []discoveryv3.AggregatedDiscoveryServiceClient {
	t.Helper()
	var out []discoveryv3.AggregatedDiscoveryServiceClient
	for range n {
		cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cc.Close() })
		out = append(out, discoveryv3.NewAggregatedDiscoveryServiceClient(cc))
	}
	return out
}

// churnOnce connects as id, sends a request and disconnects.
func churnOnce(ads discoveryv3.AggregatedDiscoveryServiceClient, id string) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := ads.StreamAggregatedResources(ctx)
	if err != nil {
		return fmt.Errorf("churn %s: %w", id, err)
	}
	return st.Send(&discoveryv3.DiscoveryRequest{Node: &corev3.Node{Id: id}, TypeUrl: resourcev3.ClusterType})
}

// configured connects as id and waits for a non-empty cluster response;
// the stream stays open until ctx ends.
func configured(ctx context.Context, ads discoveryv3.AggregatedDiscoveryServiceClient, id string) error {
	st, err := ads.StreamAggregatedResources(ctx)
	if err != nil {
		return fmt.Errorf("%s: %w", id, err)
	}
	if err := st.Send(&discoveryv3.DiscoveryRequest{Node: &corev3.Node{Id: id}, TypeUrl: resourcev3.ClusterType}); err != nil {
		return fmt.Errorf("%s: %w", id, err)
	}
	recv := make(chan error, 1)
	var resp *discoveryv3.DiscoveryResponse
	go func() { resp, err = st.Recv(); recv <- err }()
	select {
	case err = <-recv:
	case <-time.After(wait):
		return fmt.Errorf("%s: not configured within %v", id, wait)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", id, err)
	}
	if len(resp.GetResources()) == 0 {
		return fmt.Errorf("%s: empty cluster response", id)
	}
	return nil
}

// heapInUse is HeapInuse after a full collection.
func heapInUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}
