package main

import (
	"context"
	"io"
	"os"

	"github.com/trellis-mesh/trellis/bench/internal/adsclient"
)

// runClients is the child process: n simulated Envoys (see adsclient), each
// subscribing to CDS, LDS and the two route configurations and ACKing every
// response. It runs until stdin closes.
func runClients(addr string, n int, delta bool) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _, _ = io.Copy(io.Discard, os.Stdin); cancel() }()
	return adsclient.Run(ctx, adsclient.Config{Addr: addr, N: n, NodeID: nodeID, Delta: delta, RouteNames: rdsNames})
}
