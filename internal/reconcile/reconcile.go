package reconcile

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/trellis-mesh/trellis/internal/ir"
	"github.com/trellis-mesh/trellis/internal/irgen"
	"github.com/trellis-mesh/trellis/internal/meshview"
	"github.com/trellis-mesh/trellis/internal/registry"
	"github.com/trellis-mesh/trellis/internal/xdsserver"
)

// Changes are batched without waiting: the first change after a quiet
// spell is rebuilt at once, and whatever changes while a rebuild runs (the
// rest of an apply of many resources, registry churn) is coalesced by the
// mesh view into the one rebuild that follows. A waiting debounce would add
// its whole window to every edit's convergence; Options.Debounce adds one
// when batching matters more than latency.

// Options configure a Reconciler.
type Options struct {
	Logger    *slog.Logger
	Endpoints irgen.Endpoints
	// EndpointChanges, when set, reports the Cloud Map services whose
	// instances changed; proxies of meshes with a virtual node discovered
	// through one of them are rebuilt.
	EndpointChanges EndpointChanges
	// Debounce, when positive, is how long changes are collected after the
	// first one before proxies are rebuilt. Zero rebuilds at once.
	Debounce time.Duration
}

// EndpointChanges is the registry's change feed.
type EndpointChanges interface {
	Next(ctx context.Context) ([]registry.ServiceName, error)
}

// Reconciler keeps every connected proxy's configuration in step with the
// mesh.
type Reconciler struct {
	view     *meshview.View
	xds      *xdsserver.Server
	eps      irgen.Endpoints
	epsFeed  EndpointChanges
	log      *slog.Logger
	debounce time.Duration

	// irMemo carries irgen's work from one rebuild to the next; table
	// holds the translations of the parts proxies use.
	irMemo *irgen.Memo
	table  *translations

	mu      sync.Mutex
	proxies map[string]*proxy
}

// proxy is what the reconciler remembers about one connected Envoy.
type proxy struct {
	// key names the proxy's snapshot in the xDS server; id is its Envoy
	// node id.
	key  string
	id   string
	ref  irgen.NodeRef
	opts irgen.Options
	// hash combines the fingerprints of the parts last published, whose
	// translations parts holds.
	hash     fingerprint
	parts    []*translation
	warnings []string
	version  uint64
	lastErr  error
}

// New returns a Reconciler between a mesh view and an xDS server.
func New(view *meshview.View, xds *xdsserver.Server, opts Options) *Reconciler {
	r := &Reconciler{view: view, xds: xds, eps: opts.Endpoints, epsFeed: opts.EndpointChanges, log: opts.Logger, debounce: opts.Debounce, irMemo: irgen.NewMemo(), table: newTranslations(), proxies: map[string]*proxy{}}
	if r.log == nil {
		r.log = slog.Default()
	}
	return r
}

// Run reacts to proxies connecting and to mesh changes until ctx ends.
func (r *Reconciler) Run(ctx context.Context) error {
	changes := make(chan []string, 1)
	go r.watchView(ctx, changes)
	if r.epsFeed != nil {
		go r.watchRegistry(ctx, changes)
	}
	pending := map[string]bool{}
	var timer <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev := <-r.xds.Events():
			r.nodeEvent(ev)
		case meshes := <-changes:
			for _, m := range meshes {
				pending[m] = true
			}
			if r.debounce <= 0 {
				r.rebuild(func(p *proxy) bool { return pending[p.ref.Mesh] })
				pending = map[string]bool{}
			} else if timer == nil {
				timer = time.After(r.debounce)
			}
		case <-timer:
			timer = nil
			r.rebuild(func(p *proxy) bool { return pending[p.ref.Mesh] })
			pending = map[string]bool{}
		}
	}
}

// watchView forwards the names of changed meshes, coalescing while the
// main loop is busy.
func (r *Reconciler) watchView(ctx context.Context, out chan<- []string) {
	for {
		_, changed, err := r.view.Next(ctx)
		if err != nil {
			return
		}
		select {
		case out <- changed:
		case <-ctx.Done():
			return
		}
	}
}

// watchRegistry forwards the meshes that have a virtual node discovered
// through a Cloud Map service whose instances changed.
func (r *Reconciler) watchRegistry(ctx context.Context, out chan<- []string) {
	for {
		names, err := r.epsFeed.Next(ctx)
		if err != nil {
			return
		}
		meshes := meshesUsing(r.view.Current(), names)
		if len(meshes) == 0 {
			continue
		}
		select {
		case out <- meshes:
		case <-ctx.Done():
			return
		}
	}
}

// meshesUsing lists the meshes of snap with a virtual node whose
// awsCloudMap discovery names one of the services.
func meshesUsing(snap *meshview.Snapshot, names []registry.ServiceName) []string {
	if snap == nil {
		return nil
	}
	want := make(map[registry.ServiceName]bool, len(names))
	for _, n := range names {
		want[n] = true
	}
	var out []string
	for _, m := range snap.MeshNames() {
		for _, vn := range snap.Mesh(m).VirtualNodes {
			if vn.Spec == nil || vn.Spec.ServiceDiscovery == nil || vn.Spec.ServiceDiscovery.AwsCloudMap == nil {
				continue
			}
			cm := vn.Spec.ServiceDiscovery.AwsCloudMap
			if want[registry.ServiceName{Namespace: cm.NamespaceName, Service: cm.ServiceName}] {
				out = append(out, m)
				break
			}
		}
	}
	return out
}

// nodeEvent registers a proxy that connected (and builds its config at
// once) or forgets one that left.
func (r *Reconciler) nodeEvent(ev xdsserver.NodeEvent) {
	if !ev.Connected {
		r.mu.Lock()
		if p := r.proxies[ev.Key]; p != nil {
			r.forget(p)
		}
		delete(r.proxies, ev.Key)
		r.mu.Unlock()
		r.xds.ClearNode(ev.Key)
		r.log.Info("proxy disconnected", "node", ev.NodeID)
		return
	}
	ref, err := xdsserver.ParseNodeID(ev.NodeID)
	if err != nil {
		r.log.Warn("proxy with an unusable node id; it gets no configuration", "node", ev.NodeID, "err", err)
		return
	}
	opts, err := optionsFromMetadata(ev.Metadata)
	if err != nil {
		r.log.Warn("proxy metadata rejected; using App Mesh defaults", "node", ev.NodeID, "err", err)
		opts, _ = optionsFromMetadata(nil)
	}
	p := &proxy{key: ev.Key, id: ev.NodeID, ref: irgen.NodeRef{Mesh: ref.Mesh, Kind: ref.Kind, Name: ref.Name}, opts: opts}
	r.mu.Lock()
	if old := r.proxies[ev.Key]; old != nil { // a disconnect event was dropped
		r.forget(old)
	}
	r.proxies[ev.Key] = p
	r.mu.Unlock()
	r.log.Info("proxy connected", "node", ev.NodeID, "mesh", ref.Mesh, "kind", ref.Kind, "name", ref.Name)
	r.rebuild(func(q *proxy) bool { return q == p })
}

// rebuild translates every selected proxy against the current snapshot,
// spreading the work over the available CPUs.
func (r *Reconciler) rebuild(selected func(*proxy) bool) {
	snap := r.view.Current()
	if snap == nil {
		return
	}
	r.mu.Lock()
	var todo []*proxy
	for _, p := range r.proxies {
		if selected(p) {
			todo = append(todo, p)
		}
	}
	r.mu.Unlock()
	t0 := time.Now()
	work := make(chan *proxy)
	m := newMemo(irgen.NewCache(snap, r.eps, r.irMemo), r.table)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(todo)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range work {
				r.build(snap, p, m)
			}
		}()
	}
	for _, p := range todo {
		work <- p
	}
	close(work)
	wg.Wait()
	m.done()
	r.log.Debug("proxies rebuilt", "revision", snap.Revision, "proxies", len(todo),
		"translations", m.table.size(), "took", time.Since(t0))
}

// build translates one proxy and publishes the result if it changed. On
// failure the proxy keeps its last good configuration.
//
// Translation is pure, so equal IR means equal Envoy resources: the
// proxy's parts are fingerprinted, a proxy whose parts all kept their
// fingerprints is not published again, and each part's Envoy resources
// come from the translations table (parts.go).
func (r *Reconciler) build(snap *meshview.Snapshot, p *proxy, memo *memo) {
	if p.version == 0 && !nodeExists(snap, p.ref) {
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
	if fp == p.hash && p.version > 0 && p.lastErr == nil {
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
	version := strconv.FormatUint(p.version+1, 10) + "-r" + strconv.FormatInt(snap.Revision, 10)
	if err := r.xds.SetResources(p.key, version, res); err != nil {
		r.failed(p, snap, fmt.Errorf("publish version %s: %w", version, err))
		return
	}
	r.table.publish(p.parts, ts)
	p.hash, p.parts, p.version, p.lastErr = fp, ts, p.version+1, nil
	r.warnings(p, parts)
	r.log.Debug("configuration published", "node", p.id, "version", version)
}

// nodeExists reports whether the proxy's virtual node or gateway is in the
// snapshot.
func nodeExists(snap *meshview.Snapshot, ref irgen.NodeRef) bool {
	m := snap.Mesh(ref.Mesh)
	if m == nil {
		return false
	}
	if ref.Kind == irgen.KindVirtualGateway {
		return m.VirtualGateways[ref.Name] != nil
	}
	return m.VirtualNodes[ref.Name] != nil
}

// waiting withholds every resource from a proxy whose node was never
// there: no snapshot means no xDS response, so Envoy (initial fetch
// timeout 0) stays INITIALIZING and its sidecar not ready, instead of
// turning LIVE with an empty configuration. Nothing is sent, so there is
// nothing to ACK. A node deleted after it was served keeps the old rule
// (its proxy gets the empty configuration).
func (r *Reconciler) waiting(p *proxy, snap *meshview.Snapshot) {
	err := errNoSuchNode
	if p.lastErr == nil || p.lastErr.Error() != err.Error() {
		r.log.Warn("proxy waits: its node does not exist; no configuration sent until it is created",
			"node", p.id, "revision", snap.Revision)
	}
	p.lastErr = err
}

// errNoSuchNode marks a proxy waiting for its node to be created.
var errNoSuchNode = errors.New("no such virtual node or gateway")

// warnings logs the App Mesh settings a proxy's configuration could not
// honour, when they differ from what was last logged for it.
func (r *Reconciler) warnings(p *proxy, parts []*ir.Proxy) {
	var ws []string
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
	r.table.publish(p.parts, nil)
	r.table.sweep(fingerprintsOf(p.parts))
	p.parts = nil
}
