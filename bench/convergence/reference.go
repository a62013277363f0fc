package main

import (
	"context"
	"fmt"
	"net"

	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	sotwv3 "github.com/envoyproxy/go-control-plane/pkg/server/sotw/v3"
	"google.golang.org/grpc"
)

// The reference: a bare go-control-plane ADS server (its SnapshotCache in
// ADS mode and its state-of-the-world stream server, no callbacks) that
// hands precomputed snapshots to the same simulated fleet. It is what a
// control plane that did no translation at all would cost, measured in the
// same run on the same machine.

// reference is a running reference server.
type reference struct {
	cache  cachev3.SnapshotCache
	snaps  []*cachev3.Snapshot // by weights, as stormMesh.byWeights
	addr   string
	cancel context.CancelFunc
	done   chan error
	gs     *grpc.Server
}

// startReference serves the snapshots on a loopback port; no node has
// one until set.
func startReference(byWeights []map[string][]types.Resource) (*reference, error) {
	r := &reference{cache: cachev3.NewSnapshotCache(true, cachev3.IDHash{}, nil), done: make(chan error, 1)}
	for k, res := range byWeights {
		typed := map[resourcev3.Type][]types.Resource{}
		for t, rs := range res {
			typed[t] = rs
		}
		snap, err := cachev3.NewSnapshot(fmt.Sprintf("w%d", k), typed)
		if err != nil {
			return nil, fmt.Errorf("reference snapshot %d: %w", k, err)
		}
		if err := snap.Consistent(); err != nil {
			return nil, fmt.Errorf("reference snapshot %d: %w", k, err)
		}
		r.snaps = append(r.snaps, snap)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r.addr = ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	r.gs = grpc.NewServer()
	discoveryv3.RegisterAggregatedDiscoveryServiceServer(r.gs, &referenceADS{sotw: sotwv3.NewServer(ctx, r.cache, nil)})
	go func() { r.done <- r.gs.Serve(ln) }()
	return r, nil
}

// set gives nodes 0..n-1 the snapshot of weights k.
func (r *reference) set(n, k int) error {
	for j := range n {
		if err := r.cache.SetSnapshot(context.Background(), nodeID(j), r.snaps[k]); err != nil {
			return fmt.Errorf("reference set snapshot: %w", err)
		}
	}
	return nil
}

func (r *reference) stop() {
	r.cancel()
	r.gs.Stop()
	<-r.done
}

// referenceADS routes ADS to go-control-plane's state-of-the-world server.
type referenceADS struct {
	discoveryv3.UnimplementedAggregatedDiscoveryServiceServer
	sotw sotwv3.Server
}

func (a *referenceADS) StreamAggregatedResources(st discoveryv3.AggregatedDiscoveryService_StreamAggregatedResourcesServer) error {
	return a.sotw.StreamHandler(st, resourcev3.AnyType)
}
