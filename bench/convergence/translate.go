package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/trellis-mesh/trellis/internal/irgen"
	"github.com/trellis-mesh/trellis/internal/meshview"
	"github.com/trellis-mesh/trellis/internal/store/bolt"
	"github.com/trellis-mesh/trellis/internal/xdsgen"
)

// translateTime reopens the stopped server's store, builds the mesh view
// and times a translation from scratch, irgen.Proxy then xdsgen.Translate,
// for client-0 with the options its metadata gives, and irgen alone per
// client in a rebuild, where the clients share their outbound part
// (internal/reconcile's BenchmarkTranslateProxy measures the same).
func translateTime(dataDir string, clients, iters int, varied bool) (scratch, shared time.Duration, err error) {
	quiet := slog.New(slog.DiscardHandler)
	st, err := bolt.Open(filepath.Join(dataDir, "trellis.db"), bolt.Options{Logger: quiet})
	if err != nil {
		return 0, 0, fmt.Errorf("reopen store: %w", err)
	}
	defer st.Close()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	rev, err := st.Revision(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("store revision: %w", err)
	}
	view := meshview.New(st, quiet)
	done := make(chan struct{})
	go func() { defer close(done); _ = view.Run(ctx) }()
	defer func() { cancel(); <-done }()
	if err := view.WaitRevision(ctx, rev); err != nil {
		return 0, 0, fmt.Errorf("mesh view: %w", err)
	}
	snap := view.Current()
	node := irgen.NodeRef{Mesh: meshName, Kind: irgen.KindVirtualNode, Name: clientName(0)}
	opts := irgen.Options{IngressPort: 15000, EgressPort: 15001, EgressAddress: "127.0.0.1"}
	gen := xdsgen.NewMemo() // carried across translations, as reconcile does
	once := func() error {
		p, err := irgen.Proxy(snap, node, opts, nil)
		if err != nil {
			return err
		}
		res, err := gen.Translate(p)
		if err != nil {
			return err
		}
		if !varied && (len(res.Routes) != 1 || len(res.Clusters) != backends) {
			return fmt.Errorf("translated %d route configs and %d clusters, want 1 and %d", len(res.Routes), len(res.Clusters), backends)
		}
		return nil
	}
	if err := once(); err != nil { // warm up, and check the shape
		return 0, 0, fmt.Errorf("translate %s: %w", node.Name, err)
	}
	t := time.Now()
	for range iters {
		_ = once()
	}
	scratch = time.Since(t) / time.Duration(iters)
	cache := irgen.NewCache(snap, nil, irgen.NewMemo())
	t = time.Now()
	for j := range clients {
		if _, err := cache.Parts(irgen.NodeRef{Mesh: meshName, Kind: irgen.KindVirtualNode, Name: clientName(j)}, opts); err != nil {
			return 0, 0, err
		}
	}
	return scratch, time.Since(t) / time.Duration(clients), nil
}
