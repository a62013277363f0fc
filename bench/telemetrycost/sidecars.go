package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	metricsv3 "github.com/envoyproxy/go-control-plane/envoy/service/metrics/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"
)

// runSidecars is the child process: n simulated Envoys, each with its own
// connection and stream, flushing every flush (the first flush of each is
// spread over the period, as real fleets are). It runs until stdin closes.
func runSidecars(addr string, n, backends int, shape string, flush time.Duration) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go drain(os.Stdin, cancel)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			delay := time.Duration(int64(flush) * int64(i) / int64(n))
			if err := sidecar(ctx, addr, i, backends, shape, flush, delay); err != nil && ctx.Err() == nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

func sidecar(ctx context.Context, addr string, i, backends int, shape string, flush, delay time.Duration) error {
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return fmt.Errorf("sidecar %d: %w", i, err)
	}
	defer cc.Close()
	// Retried like Envoy does: a dial on a loaded machine may time out.
	st, err := metricsv3.NewMetricsServiceClient(cc).StreamMetrics(ctx, grpc.WaitForReady(true))
	if err != nil {
		return fmt.Errorf("sidecar %d: %w", i, err)
	}
	s := newStats(fmt.Sprintf("n%d", i), backends, shape)
	node := &corev3.Node{Id: fmt.Sprintf("mesh/bench/virtualNode/n%d", i), Cluster: fmt.Sprintf("n%d", i)}
	t := time.NewTimer(delay)
	defer t.Stop()
	for first := true; ; first = false {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		t.Reset(flush)
		s.advance(flush)
		for j, batch := range s.batches() {
			msg := &metricsv3.StreamMetricsMessage{EnvoyMetrics: batch}
			if first && j == 0 {
				msg.Identifier = &metricsv3.StreamMetricsMessage_Identifier{Node: node}
			}
			if err := st.Send(msg); err != nil {
				if errors.Is(err, io.EOF) || ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("sidecar %d send: %w", i, err)
			}
		}
	}
}

// sampleShape is the size of one sidecar's flush.
func sampleShape(backends int, shape string) (fams, hists, bytes int) {
	s := newStats("n0", backends, shape)
	s.advance(time.Second)
	for _, b := range s.batches() {
		fams += len(b)
		for _, f := range b {
			if f.GetMetric()[0].GetHistogram() != nil {
				hists++
			}
		}
		bytes += proto.Size(&metricsv3.StreamMetricsMessage{EnvoyMetrics: b})
	}
	return fams, hists, bytes
}

// batches is how many messages one flush takes (Envoy's batch_size as
// the bootstrap sets it).
func batches(fams int) int { return (fams + batchSize - 1) / batchSize }
