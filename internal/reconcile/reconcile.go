package reconcile

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	"golang.org/x/sync/errgroup"

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
	// Secrets, when set, resolves the secrets the control plane serves
	// over ADS (ACM certificates and CAs, internal/acm); without it such
	// references stay unresolved.
	Secrets Secrets
	// Debounce, when positive, is how long changes are collected after the
	// first one before proxies are rebuilt. Zero rebuilds at once.
	Debounce time.Duration
}

// EndpointChanges is the registry's change feed.
type EndpointChanges interface {
	Next(ctx context.Context) ([]registry.ServiceName, error)
}

// XDS is what reconcile needs of the xDS server (*xdsserver.Server), so
// that reconcile can be tested alone. Node connection changes are not
// events to apply in order but keys to look at: NodeChanges wakes,
// TakeNodeChanges says which keys changed (or, resync, that the caller
// must compare against ConnectedNodes), and Node is the truth for each.
type XDS interface {
	NodeChanges() <-chan struct{}
	TakeNodeChanges() (keys []string, resync bool)
	Node(key string) xdsserver.NodeState
	ConnectedNodes() []string
	SetResources(key, version string, resources map[string][]types.Resource) error
	ClearNode(key string)
	ObserveRebuild(cause string, proxies int, took time.Duration)
	SetProxyCounts(c xdsserver.ProxyCounts)
	ObserveCache(name string, size func() int)
}

// Reconciler keeps every connected proxy's configuration in step with the
// mesh.
type Reconciler struct {
	view     *meshview.View
	xds      XDS
	eps      irgen.Endpoints
	epsFeed  EndpointChanges
	secrets  Secrets
	log      *slog.Logger
	debounce time.Duration
	// irMemo carries irgen's work from one rebuild to the next; table
	// holds the translations of the parts proxies use, and the xdsgen memo
	// they share. The Reconciler owns them; irMemo and the xdsgen memo are
	// LRUs, table is bounded by the proxies' parts. Their sizes are
	// reported as trellis_cache_entries.
	irMemo *irgen.Memo
	table  *translations

	// proxies is touched by Run's loop only, between batches; the workers
	// of a batch write the fields of the proxies they build.
	proxies      map[string]*proxy
	unknown      atomic.Int64 // proxies whose node is not in the snapshot
	unconfigured atomic.Int64 // proxies never published
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
	secrets  fingerprint // of the ADS secrets last published
	parts    []*translation
	warnings []string
	version  uint64
	lastErr  error
	unknown  bool // its node was not in the snapshot last built
}

// configured reports whether the proxy has had a configuration published.
func (p *proxy) configured() bool { return p.version > 0 }

// New returns a Reconciler between a mesh view and an xDS server.
func New(view *meshview.View, xds XDS, opts Options) *Reconciler {
	r := &Reconciler{view: view, xds: xds, eps: opts.Endpoints, epsFeed: opts.EndpointChanges, secrets: opts.Secrets, log: opts.Logger, debounce: opts.Debounce, irMemo: irgen.NewMemo(), table: newTranslations(), proxies: map[string]*proxy{}}
	if r.log == nil {
		r.log = slog.Default()
	}
	xds.ObserveCache("irgen_memo", r.irMemo.Len)
	xds.ObserveCache("xdsgen_memo", r.table.gen.Len)
	xds.ObserveCache("translations", r.table.size)
	return r
}

// Run reacts to proxies connecting and to mesh changes until ctx ends,
// and returns only once every goroutine it started has. It returns nil
// when ctx ends and the error of a stage (the registry's change feed)
// that died before, so the server can stop instead of serving stale
// configuration.
func (r *Reconciler) Run(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	changes := make(chan []string, 1)
	g.Go(func() error { return r.watchView(gctx, changes) })
	if r.epsFeed != nil {
		g.Go(func() error { return r.watchRegistry(gctx, changes) })
	}
	if r.secrets != nil {
		g.Go(func() error { return r.watchSecrets(gctx, changes) })
	}
	g.Go(func() error { return r.loop(gctx, changes) })
	err := g.Wait()
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// loop handles node changes and mesh changes one batch at a time.
func (r *Reconciler) loop(ctx context.Context, changes <-chan []string) error {
	pending := map[string]bool{}
	var timer <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-r.xds.NodeChanges():
			r.nodesChanged()
		case meshes := <-changes:
			for _, m := range meshes {
				pending[m] = true
			}
			if r.debounce <= 0 {
				r.meshesChanged(pending)
				pending = map[string]bool{}
			} else if timer == nil {
				timer = time.After(r.debounce)
			}
		case <-timer:
			timer = nil
			r.meshesChanged(pending)
			pending = map[string]bool{}
		}
	}
}

// meshesChanged rebuilds the proxies of the changed meshes, and any proxy
// not configured yet (connected before the first snapshot, or whose first
// publication failed).
func (r *Reconciler) meshesChanged(meshes map[string]bool) {
	var todo []*proxy
	for _, p := range r.proxies {
		if meshes[p.ref.Mesh] || !p.configured() {
			todo = append(todo, p)
		}
	}
	r.build("mesh", todo)
	r.reportCounts()
}

// watchView forwards the names of changed meshes, coalescing while the
// main loop is busy.
func (r *Reconciler) watchView(ctx context.Context, out chan<- []string) error {
	for {
		_, changed, err := r.view.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("reconcile: mesh view: %w", err)
		}
		select {
		case out <- changed:
		case <-ctx.Done():
			return nil
		}
	}
}

// watchRegistry forwards the meshes that have a virtual node discovered
// through a Cloud Map service whose instances changed.
func (r *Reconciler) watchRegistry(ctx context.Context, out chan<- []string) error {
	for {
		names, err := r.epsFeed.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("reconcile: registry changes: %w", err)
		}
		meshes := meshesUsing(r.view.Current(), names)
		if len(meshes) == 0 {
			continue
		}
		select {
		case out <- meshes:
		case <-ctx.Done():
			return nil
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
		for _, vn := range snap.Mesh(m).VirtualNodes.All() {
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
