package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// dialParallel bounds concurrent connection setups so a thousand clients
// connect like a rolling start rather than one SYN flood.
const dialParallel = 64

// runClients is the child process: n simulated Envoys, each with its own
// grpc.ClientConn (one TCP connection per proxy, as in a real mesh) and one
// ADS stream that subscribes to CDS, LDS and the two route configurations
// and ACKs every response. It runs until stdin closes.
func runClients(addr string, n int, delta bool) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, n)
	sem := make(chan struct{}, dialParallel)
	var wg sync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			return fmt.Errorf("client %d: %w", i, err)
		}
		defer cc.Close()
		ads := discoveryv3.NewAggregatedDiscoveryServiceClient(cc)
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			if delta {
				err = deltaClient(ctx, ads, nodeID(i), sem)
			} else {
				err = sotwClient(ctx, ads, nodeID(i), sem)
			}
			if err != nil && ctx.Err() == nil {
				errc <- fmt.Errorf("client %s: %w", nodeID(i), err)
			}
		}()
	}
	go func() { _, _ = io.Copy(io.Discard, os.Stdin); cancel() }()
	select {
	case <-ctx.Done():
	case err := <-errc:
		return err
	}
	wg.Wait()
	return nil
}

// sotwClient subscribes and ACKs state-of-the-world responses; it frees
// its dial slot once the stream's first requests are out.
func sotwClient(ctx context.Context, ads discoveryv3.AggregatedDiscoveryServiceClient, node string, sem chan struct{}) error {
	st, err := ads.StreamAggregatedResources(ctx)
	if err != nil {
		<-sem
		return fmt.Errorf("open stream: %w", err)
	}
	reqs := []*discoveryv3.DiscoveryRequest{
		{Node: &corev3.Node{Id: node, Cluster: node}, TypeUrl: resourcev3.ClusterType},
		{TypeUrl: resourcev3.ListenerType},
		{TypeUrl: resourcev3.RouteType, ResourceNames: rdsNames},
	}
	for _, r := range reqs {
		if err := st.Send(r); err != nil {
			<-sem
			return fmt.Errorf("subscribe: %w", err)
		}
	}
	<-sem
	for {
		resp, err := st.Recv()
		if err != nil {
			return fmt.Errorf("recv: %w", err)
		}
		ack := &discoveryv3.DiscoveryRequest{TypeUrl: resp.GetTypeUrl(), VersionInfo: resp.GetVersionInfo(), ResponseNonce: resp.GetNonce()}
		if resp.GetTypeUrl() == resourcev3.RouteType {
			ack.ResourceNames = rdsNames
		}
		if err := st.Send(ack); err != nil {
			return fmt.Errorf("ack: %w", err)
		}
	}
}

// deltaClient does the same over the delta protocol.
func deltaClient(ctx context.Context, ads discoveryv3.AggregatedDiscoveryServiceClient, node string, sem chan struct{}) error {
	st, err := ads.DeltaAggregatedResources(ctx)
	if err != nil {
		<-sem
		return fmt.Errorf("open delta stream: %w", err)
	}
	reqs := []*discoveryv3.DeltaDiscoveryRequest{
		{Node: &corev3.Node{Id: node, Cluster: node}, TypeUrl: resourcev3.ClusterType},
		{TypeUrl: resourcev3.ListenerType},
		{TypeUrl: resourcev3.RouteType, ResourceNamesSubscribe: rdsNames},
	}
	for _, r := range reqs {
		if err := st.Send(r); err != nil {
			<-sem
			return fmt.Errorf("subscribe: %w", err)
		}
	}
	<-sem
	for {
		resp, err := st.Recv()
		if err != nil {
			return fmt.Errorf("recv: %w", err)
		}
		if err := st.Send(&discoveryv3.DeltaDiscoveryRequest{TypeUrl: resp.GetTypeUrl(), ResponseNonce: resp.GetNonce()}); err != nil {
			return fmt.Errorf("ack: %w", err)
		}
	}
}
