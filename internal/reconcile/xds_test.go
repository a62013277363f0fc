package reconcile

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/trellis-mesh/trellis/internal/xdsserver"
)

// TestNoProxyStranded: more proxies connect while reconcile is not
// looking than any event buffer of the old design held (1,024), then
// reconcile starts: every one of them is configured, all in one batch. On
// the design with a bounded event channel the overflow was dropped and
// those proxies never got configuration (this test, ported to it, fails:
// stream 863 of 1,500 was never answered).
func TestNoProxyStranded(t *testing.T) {
	const streams, conns, clients = 1500, 6, 50
	m := newTestMesh(t, 2, clients)
	reg := prometheus.NewRegistry()
	// 250 streams share each connection here (an Envoy opens a few on
	// its own), above the default per-connection cap.
	srv := xdsserver.New(xdsserver.Options{Logger: quietLogger(), Registerer: reg,
		Limits: xdsserver.Limits{MaxStreamsPerConn: streams}})
	addr := serveXDS(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	var ccs []discoveryv3.AggregatedDiscoveryServiceClient
	for range conns {
		cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cc.Close() })
		ccs = append(ccs, discoveryv3.NewAggregatedDiscoveryServiceClient(cc))
	}
	sts := make([]discoveryv3.AggregatedDiscoveryService_StreamAggregatedResourcesClient, streams)
	for i := range streams {
		st, err := ccs[i%conns].StreamAggregatedResources(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// Each proxy has its own shape (a distinct ingress port), so its
		// own node key: replicas of 50 virtual nodes.
		md, _ := structpb.NewStruct(map[string]any{MetadataKey: map[string]any{"ingressPort": float64(20000 + i)}})
		node := &corev3.Node{Id: fmt.Sprintf("mesh/bench/virtualNode/client-%d", i%clients), Metadata: md}
		if err := st.Send(&discoveryv3.DiscoveryRequest{Node: node, TypeUrl: resourcev3.ClusterType}); err != nil {
			t.Fatal(err)
		}
		sts[i] = st
	}
	eventually(t, "every stream identified", func() bool { return len(srv.ConnectedNodes()) == streams })

	runReconciler(t, New(m.view, srv, Options{Logger: quietLogger()}))
	var wg sync.WaitGroup
	errs := make(chan error, streams)
	for i, st := range sts {
		wg.Go(func() {
			resp, err := st.Recv()
			if err == nil && len(resp.GetResources()) == 0 {
				err = fmt.Errorf("stream %d: empty cluster response", i)
			}
			if err != nil {
				errs <- fmt.Errorf("stream %d: %w", i, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// They connected together, so they were built together: one batch.
	// The batch is observed once its last snapshot is published, which
	// can be after a stream has read its answer: wait for the figure.
	var count uint64
	var sum float64
	eventually(t, "the connect batch observed", func() bool {
		count, sum = batches(t, reg, "connect")
		return count > 0
	})
	if count != 1 || sum != streams {
		t.Errorf("%d connect batches of %v proxies in all, want 1 of %d", count, sum, streams)
	}
}

// batches reads trellis_reconcile_batch_proxies{cause}: how many batches,
// and how many proxies in all.
func batches(t *testing.T, reg *prometheus.Registry, cause string) (uint64, float64) {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "trellis_reconcile_batch_proxies" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "cause" && l.GetValue() == cause {
					return m.GetHistogram().GetSampleCount(), m.GetHistogram().GetSampleSum()
				}
			}
		}
	}
	return 0, 0
}

// serveXDS serves srv on a loopback port until the test ends.
func serveXDS(t *testing.T, srv *xdsserver.Server) string {
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
