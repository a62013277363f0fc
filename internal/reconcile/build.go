package reconcile

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/trellis-mesh/trellis/internal/ir"
	"github.com/trellis-mesh/trellis/internal/irgen"
	"github.com/trellis-mesh/trellis/internal/meshview"
	"github.com/trellis-mesh/trellis/internal/xdsserver"
)

// build translates a batch of proxies against the current snapshot in one
// pass that shares translation between them (memo), spreading the work
// over the available CPUs. cause labels the batch's metrics. With no
// snapshot yet the proxies wait: the first snapshot rebuilds every proxy
// not configured.
func (r *Reconciler) build(cause string, todo []*proxy) {
	snap := r.view.Current()
	if snap == nil || len(todo) == 0 {
		return
	}
	t0 := time.Now()
	work := make(chan *proxy)
	m := newMemo(irgen.NewCache(snap, r.eps, r.irMemo), r.table)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(todo)) {
		wg.Go(func() {
			for p := range work {
				r.buildOne(snap, p, m)
			}
		})
	}
	for _, p := range todo {
		work <- p
	}
	close(work)
	wg.Wait()
	m.done()
	took := time.Since(t0)
	r.xds.ObserveRebuild(cause, len(todo), took)
	r.log.Debug("proxies rebuilt", "cause", cause, "revision", snap.Revision, "proxies", len(todo),
		"translations", m.table.size(), "took", took)
}

// nodeExists reports whether the snapshot has the proxy's virtual node or
// gateway. A proxy naming a node that never existed is sent nothing until
// the node is created (waiting), and counted as unknown.
func nodeExists(snap *meshview.Snapshot, ref irgen.NodeRef) bool {
	mesh := snap.Mesh(ref.Mesh)
	if mesh == nil {
		return false
	}
	if ref.Kind == irgen.KindVirtualGateway {
		return mesh.VirtualGateways.Get(ref.Name) != nil
	}
	return mesh.VirtualNodes.Get(ref.Name) != nil
}

// reportCounts hands the proxy counts to the server's metrics.
func (r *Reconciler) reportCounts() {
	r.xds.SetProxyCounts(xdsserver.ProxyCounts{Unknown: int(r.unknown.Load()), Unconfigured: int(r.unconfigured.Load())})
}

// setUnknown records whether the proxy's node is missing.
func (r *Reconciler) setUnknown(p *proxy, unknown bool) {
	if p.unknown == unknown {
		return
	}
	p.unknown = unknown
	if unknown {
		r.unknown.Add(1)
	} else {
		r.unknown.Add(-1)
	}
}

// buildOne translates one proxy and publishes the result if it changed. On
// failure the proxy keeps its last good configuration.
//
// Translation is pure, so equal IR means equal Envoy resources: the
// proxy's parts are fingerprinted, a proxy whose parts all kept their
// fingerprints is not published again, and each part's Envoy resources
// come from the translations table (parts.go).
func (r *Reconciler) buildOne(snap *meshview.Snapshot, p *proxy, memo *memo) {
	r.setUnknown(p, !nodeExists(snap, p.ref))
	if p.unknown && p.version == 0 {
		r.waiting(p, snap)
		return
	}
	parts, err := memo.cache.Parts(p.ref, p.opts)
	if err != nil {
		r.failed(p, snap, fmt.Errorf("irgen: %w", err))
		return
	}
	fp, fps, err := memo.fingerprints(parts, p.parts)
	if err != nil {
		r.failed(p, snap, err)
		return
	}
	sec, err := r.secretsFor(parts)
	if err != nil {
		r.failed(p, snap, err)
		return
	}
	if fp == p.hash && sec.fp == p.secrets && p.version > 0 && p.lastErr == nil {
		return
	}
	ts, err := memo.translate(parts, fps, p.parts)
	if err != nil {
		r.failed(p, snap, err)
		return
	}
	res, err := memo.resources(ts)
	if err != nil {
		r.failed(p, snap, err)
		return
	}
	res = withSecrets(res, sec)
	version := strconv.FormatUint(p.version+1, 10) + "-r" + strconv.FormatInt(snap.Revision, 10)
	if err := r.xds.SetResources(p.key, version, res); err != nil {
		r.failed(p, snap, fmt.Errorf("publish version %s: %w", version, err))
		return
	}
	if !p.configured() {
		r.unconfigured.Add(-1)
	}
	r.table.publish(p.parts, ts)
	p.hash, p.secrets, p.parts, p.version, p.lastErr = fp, sec.fp, ts, p.version+1, nil
	r.warnings(p, parts, sec.warnings())
	r.log.Debug("configuration published", "node", p.id, "version", version)
}

// waiting withholds every resource from a proxy whose node was never
// there: no snapshot means no xDS response, so Envoy (initial fetch
// timeout 0) stays INITIALIZING and its sidecar not ready, instead of
// turning LIVE with an empty configuration. Nothing is sent, so there is
// nothing to ACK. A node deleted after it was served keeps the old rule
// (its proxy gets the empty configuration).
func (r *Reconciler) waiting(p *proxy, snap *meshview.Snapshot) {
	if !errors.Is(p.lastErr, errNoSuchNode) {
		r.log.Warn("proxy waits: its node does not exist; no configuration sent until it is created",
			"node", p.id, "revision", snap.Revision)
	}
	p.lastErr = errNoSuchNode
}

// errNoSuchNode marks a proxy waiting for its node to be created.
var errNoSuchNode = errors.New("no such virtual node or gateway")

// warnings logs the App Mesh settings a proxy's configuration could not
// honour, when they differ from what was last logged for it.
func (r *Reconciler) warnings(p *proxy, parts []*ir.Proxy, extra []string) {
	ws := slices.Clone(extra)
	for _, part := range parts {
		for _, w := range part.Warnings {
			if !slices.Contains(ws, w) {
				ws = append(ws, w)
			}
		}
	}
	if slices.Equal(ws, p.warnings) {
		return
	}
	p.warnings = ws
	if len(ws) > 0 {
		r.log.Warn("configuration published without settings Trellis cannot honour", "node", p.id, "warnings", ws)
	}
}

// failed records a translation or publishing failure; the proxy keeps its
// last good configuration. A repeated identical error is logged once.
func (r *Reconciler) failed(p *proxy, snap *meshview.Snapshot, err error) {
	if p.lastErr == nil || p.lastErr.Error() != err.Error() {
		r.log.Error("configuration not updated; proxy keeps its last good configuration",
			"node", p.id, "revision", snap.Revision, "err", err)
	}
	p.lastErr = err
}

// forget releases the translations a proxy that left was using.
func (r *Reconciler) forget(p *proxy) {
	r.setUnknown(p, false)
	if !p.configured() {
		r.unconfigured.Add(-1)
	}
	r.table.publish(p.parts, nil)
	r.table.sweep(fingerprintsOf(p.parts))
	p.parts = nil
}
