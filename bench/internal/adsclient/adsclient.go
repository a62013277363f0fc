// Package adsclient simulates a fleet of Envoy proxies for the benchmarks
// under bench/: each proxy is a distinct node id with its own
// grpc.ClientConn (one TCP connection, as in a real mesh) and one ADS
// stream, state of the world or delta, that subscribes to CDS, LDS and a
// fixed list of route configurations and ACKs every response at once.
//
// The benchmarks run the fleet in a child process of themselves (see
// StartChild) so that the control plane's heap and CPU figures are its own.
package adsclient

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/structpb"
)

// envoyWindow is Envoy's default HTTP/2 stream and connection window.
const envoyWindow = 256 << 20

// dialParallel bounds concurrent connection setups so a thousand clients
// connect like a rolling start rather than one SYN flood.
const dialParallel = 64

// Config describes the fleet.
type Config struct {
	// Addr is the ADS server's host:port.
	Addr string
	// N is the number of proxies; proxy i is named NodeID(i).
	N      int
	NodeID func(i int) string
	// Delta selects the delta protocol instead of state of the world.
	Delta bool
	// Metadata, when set, is sent as node.metadata on the first request.
	Metadata *structpb.Struct
	// RouteNames are the route configurations every proxy subscribes to,
	// as Envoy does for the RDS names its listeners carry.
	RouteNames []string
	// OnResponse, when set, sees every response on proxy i's goroutine
	// before its ACK is sent; it must not keep r past the call.
	OnResponse func(i int, r *Response)
}

// Response is one response as a proxy received it.
type Response struct {
	// At is the wall clock right after the response was received.
	At time.Time
	// Exactly one of SotW and Delta is set.
	SotW  *discoveryv3.DiscoveryResponse
	Delta *discoveryv3.DeltaDiscoveryResponse
}

// TypeURL is the response's resource type.
func (r *Response) TypeURL() string {
	if r.Delta != nil {
		return r.Delta.GetTypeUrl()
	}
	return r.SotW.GetTypeUrl()
}

// Resources are the resource bodies the response carries (for delta, the
// added or changed ones).
func (r *Response) Resources() []*anypb.Any {
	if r.Delta == nil {
		return r.SotW.GetResources()
	}
	out := make([]*anypb.Any, 0, len(r.Delta.GetResources()))
	for _, res := range r.Delta.GetResources() {
		out = append(out, res.GetResource())
	}
	return out
}

// Run connects the fleet and keeps every stream ACKing until ctx ends; it
// returns early with the first stream that fails.
func Run(ctx context.Context, cfg Config) error {
	// Deferred calls run last to first: connections close, streams are
	// cancelled, then their goroutines are waited for.
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, cfg.N)
	sem := make(chan struct{}, dialParallel)
	for i := range cfg.N {
		sem <- struct{}{}
		cc, err := grpc.NewClient(cfg.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
			// Large fixed windows, as Envoy's HTTP/2 defaults are (256 MiB);
			// they also keep grpc-go's bandwidth estimator, and the ping it
			// sends per received message, out of the fleet's CPU use.
			grpc.WithInitialWindowSize(envoyWindow), grpc.WithInitialConnWindowSize(envoyWindow))
		if err != nil {
			return fmt.Errorf("client %d: %w", i, err)
		}
		defer cc.Close()
		ads := discoveryv3.NewAggregatedDiscoveryServiceClient(cc)
		p := &proxy{cfg: &cfg, i: i, node: cfg.NodeID(i), sem: sem}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			if cfg.Delta {
				err = p.delta(ctx, ads)
			} else {
				err = p.sotw(ctx, ads)
			}
			if err != nil && ctx.Err() == nil {
				errc <- fmt.Errorf("client %s: %w", p.node, err)
			}
		}()
	}
	select {
	case <-ctx.Done():
		return nil
	case err := <-errc:
		return err
	}
}

// proxy is one simulated Envoy.
type proxy struct {
	cfg  *Config
	i    int
	node string
	sem  chan struct{}
}

func (p *proxy) seen(r *Response) {
	if p.cfg.OnResponse != nil {
		p.cfg.OnResponse(p.i, r)
	}
}

func (p *proxy) corev3Node() *corev3.Node {
	return &corev3.Node{Id: p.node, Cluster: p.node, Metadata: p.cfg.Metadata}
}

// sotw subscribes and ACKs state-of-the-world responses; it frees its
// dial slot once the stream's first requests are out.
func (p *proxy) sotw(ctx context.Context, ads discoveryv3.AggregatedDiscoveryServiceClient) error {
	st, err := ads.StreamAggregatedResources(ctx)
	if err != nil {
		<-p.sem
		return fmt.Errorf("open stream: %w", err)
	}
	reqs := []*discoveryv3.DiscoveryRequest{
		{Node: p.corev3Node(), TypeUrl: resourcev3.ClusterType},
		{TypeUrl: resourcev3.ListenerType},
		{TypeUrl: resourcev3.RouteType, ResourceNames: p.cfg.RouteNames},
	}
	for _, r := range reqs {
		if err := st.Send(r); err != nil {
			<-p.sem
			return fmt.Errorf("subscribe: %w", err)
		}
	}
	<-p.sem
	for {
		resp, err := st.Recv()
		if err != nil {
			return fmt.Errorf("recv: %w", err)
		}
		p.seen(&Response{At: time.Now(), SotW: resp})
		ack := &discoveryv3.DiscoveryRequest{TypeUrl: resp.GetTypeUrl(), VersionInfo: resp.GetVersionInfo(), ResponseNonce: resp.GetNonce()}
		if resp.GetTypeUrl() == resourcev3.RouteType {
			ack.ResourceNames = p.cfg.RouteNames
		}
		if err := st.Send(ack); err != nil {
			return fmt.Errorf("ack: %w", err)
		}
	}
}

// delta does the same over the delta protocol.
func (p *proxy) delta(ctx context.Context, ads discoveryv3.AggregatedDiscoveryServiceClient) error {
	st, err := ads.DeltaAggregatedResources(ctx)
	if err != nil {
		<-p.sem
		return fmt.Errorf("open delta stream: %w", err)
	}
	reqs := []*discoveryv3.DeltaDiscoveryRequest{
		{Node: p.corev3Node(), TypeUrl: resourcev3.ClusterType},
		{TypeUrl: resourcev3.ListenerType},
		{TypeUrl: resourcev3.RouteType, ResourceNamesSubscribe: p.cfg.RouteNames},
	}
	for _, r := range reqs {
		if err := st.Send(r); err != nil {
			<-p.sem
			return fmt.Errorf("subscribe: %w", err)
		}
	}
	<-p.sem
	for {
		resp, err := st.Recv()
		if err != nil {
			return fmt.Errorf("recv: %w", err)
		}
		p.seen(&Response{At: time.Now(), Delta: resp})
		if err := st.Send(&discoveryv3.DeltaDiscoveryRequest{TypeUrl: resp.GetTypeUrl(), ResponseNonce: resp.GetNonce()}); err != nil {
			return fmt.Errorf("ack: %w", err)
		}
	}
}
