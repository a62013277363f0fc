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
	"google.golang.org/protobuf/proto"
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
	// Reconnect makes a proxy whose stream fails open a new one, as Envoy
	// does, after a backoff (reconnect.go), instead of ending Run; it
	// calls OnReconnect(i) first when set.
	Reconnect   bool
	OnReconnect func(i int)
}

// Response is one response as a proxy received it, decoded as far as an
// ACK needs (wire.go).
type Response struct {
	// At is the wall clock right after the response was received.
	At time.Time
	// Delta says the response is a DeltaDiscoveryResponse.
	Delta bool
	// TypeURL, Version (version_info, or system_version_info for delta)
	// and Nonce are the response's.
	TypeURL, Version, Nonce string
	// Size is the encoded response's length.
	Size int
	// Resources are the encoded resource bodies (Any values) it carries:
	// for delta, the added or changed ones.
	Resources [][]byte
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
		cc, err := grpc.NewClient(cfg.Addr, append(cfg.reconnectOptions(), grpc.WithTransportCredentials(insecure.NewCredentials()),
			// Large fixed windows, as Envoy's HTTP/2 defaults are (256 MiB);
			// they also keep grpc-go's bandwidth estimator, and the ping it
			// sends per received message, out of the fleet's CPU use.
			grpc.WithInitialWindowSize(envoyWindow), grpc.WithInitialConnWindowSize(envoyWindow))...)
		if err != nil {
			return fmt.Errorf("client %d: %w", i, err)
		}
		defer cc.Close()
		p := &proxy{cfg: &cfg, i: i, node: cfg.NodeID(i), sem: sem}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := p.run(ctx, cc); err != nil && ctx.Err() == nil {
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

// ADS methods, called on raw streams.
const (
	sotwMethod  = "/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources"
	deltaMethod = "/envoy.service.discovery.v3.AggregatedDiscoveryService/DeltaAggregatedResources"
)

var adsStream = &grpc.StreamDesc{ClientStreams: true, ServerStreams: true}

// open starts an ADS stream whose responses stay encoded, sends the
// subscriptions and frees the proxy's dial slot.
func (p *proxy) open(ctx context.Context, cc *grpc.ClientConn, method string, subscribe []proto.Message) (grpc.ClientStream, error) {
	defer func() { <-p.sem }()
	st, err := cc.NewStream(ctx, adsStream, method, grpc.ForceCodecV2(rawCodec{}), grpc.WaitForReady(p.cfg.Reconnect))
	if err != nil {
		return nil, fmt.Errorf("open stream: %w", err)
	}
	for _, r := range subscribe {
		if err := st.SendMsg(r); err != nil {
			return nil, fmt.Errorf("subscribe: %w", err)
		}
	}
	return st, nil
}

// sotw subscribes and ACKs state-of-the-world responses.
func (p *proxy) sotw(ctx context.Context, cc *grpc.ClientConn) error {
	st, err := p.open(ctx, cc, sotwMethod, []proto.Message{
		&discoveryv3.DiscoveryRequest{Node: p.corev3Node(), TypeUrl: resourcev3.ClusterType},
		&discoveryv3.DiscoveryRequest{TypeUrl: resourcev3.ListenerType},
		&discoveryv3.DiscoveryRequest{TypeUrl: resourcev3.RouteType, ResourceNames: p.cfg.RouteNames},
	})
	if err != nil {
		return err
	}
	var msg rawMessage
	var resp Response
	for {
		if err := st.RecvMsg(&msg); err != nil {
			return fmt.Errorf("recv: %w", err)
		}
		resp.At = time.Now()
		resp.decode(msg.b, false)
		p.seen(&resp)
		ack := &discoveryv3.DiscoveryRequest{TypeUrl: resp.TypeURL, VersionInfo: resp.Version, ResponseNonce: resp.Nonce}
		if resp.TypeURL == resourcev3.RouteType {
			ack.ResourceNames = p.cfg.RouteNames
		}
		if err := st.SendMsg(ack); err != nil {
			return fmt.Errorf("ack: %w", err)
		}
	}
}

// delta does the same over the delta protocol.
func (p *proxy) delta(ctx context.Context, cc *grpc.ClientConn) error {
	st, err := p.open(ctx, cc, deltaMethod, []proto.Message{
		&discoveryv3.DeltaDiscoveryRequest{Node: p.corev3Node(), TypeUrl: resourcev3.ClusterType},
		&discoveryv3.DeltaDiscoveryRequest{TypeUrl: resourcev3.ListenerType},
		&discoveryv3.DeltaDiscoveryRequest{TypeUrl: resourcev3.RouteType, ResourceNamesSubscribe: p.cfg.RouteNames},
	})
	if err != nil {
		return err
	}
	var msg rawMessage
	resp := Response{Delta: true}
	for {
		if err := st.RecvMsg(&msg); err != nil {
			return fmt.Errorf("recv: %w", err)
		}
		resp.At = time.Now()
		resp.decode(msg.b, true)
		p.seen(&resp)
		if err := st.SendMsg(&discoveryv3.DeltaDiscoveryRequest{TypeUrl: resp.TypeURL, ResponseNonce: resp.Nonce}); err != nil {
			return fmt.Errorf("ack: %w", err)
		}
	}
}
