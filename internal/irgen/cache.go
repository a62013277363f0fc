package irgen

import (
	"cmp"
	"crypto/sha256"
	"fmt"
	"slices"
	"sync"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/trellis-mesh/trellis/internal/apis/appmesh"
	"github.com/trellis-mesh/trellis/internal/ir"
	"github.com/trellis-mesh/trellis/internal/meshview"
)

// Cache translates the proxies of one snapshot, sharing between them the
// part of their configuration they have in common.
//
// A virtual node's configuration splits into two closed parts (the
// listeners of a part reference only that part's route configs and
// clusters, and names never collide: ingress names vs egress names):
//
//   - inbound: the node's own listeners and local app clusters, a function
//     of the node itself, its name included;
//   - outbound: its backends' routing and clusters, a function of the
//     node's backends, backend defaults and logging and of the proxy's
//     options, but never of its name.
//
// Nodes with the same outbound inputs, the common case of many clients of
// the same services, get the same outbound part, translated once per
// snapshot. So a route edit that reaches a thousand such clients costs one
// outbound translation, not a thousand.
//
// A Cache is safe for concurrent use. The parts it returns are shared and
// must not be modified.
type Cache struct {
	snap *meshview.Snapshot
	eps  Endpoints
	memo *Memo

	mu       sync.Mutex
	outbound map[outboundKey]*sharedPart
}

// outboundKey identifies an outbound part within a snapshot: the mesh, the
// proxy's options (Options.key) and the SHA-256 of the node's outbound
// spec fields as JSON.
type outboundKey struct {
	mesh, opts string
	spec       [sha256.Size]byte
}

// sharedPart is an outbound part translated at most once.
type sharedPart struct {
	once sync.Once
	part *ir.Proxy
}

// NewCache returns a Cache over snap (which may be nil) resolving
// registry-backed discovery through eps (which may be nil). memo, when not
// nil, carries work from the Caches of earlier snapshots (Memo).
func NewCache(snap *meshview.Snapshot, eps Endpoints, memo *Memo) *Cache {
	if memo == nil {
		memo = NewMemo()
	}
	return &Cache{snap: snap, eps: eps, memo: memo, outbound: map[outboundKey]*sharedPart{}}
}

// Memo carries what the Caches of successive snapshots of one view can
// share:
//
//   - the digest of each virtual node spec's outbound inputs: meshview
//     hands an unchanged node's decoded spec from one snapshot to the next,
//     so after an edit every node's outbound key is found here, not
//     encoded again;
//   - the parts translated for earlier snapshots, with the mesh objects
//     each read (deps.go): a part whose objects are all unchanged is handed
//     over as it is, so an edit translates only the parts that read what it
//     changed, and proxies whose parts are handed over are found unchanged
//     (their fingerprints are those of the same objects) without work.
//
// Owner: whoever translates successive snapshots of one view (reconcile
// keeps one per Reconciler) creates it with NewMemo and passes it to every
// Cache. Bound: each table is an LRU of memoSize entries
// (hashicorp/golang-lru, the one bounded-cache type of the xDS side).
// Invalidation: spec digests are keyed by immutable decoded specs, and a
// kept part is used only while every mesh object it read is unchanged
// (deps.hold); what is evicted is only translated again. Safe for
// concurrent use.
type Memo struct {
	specs    *lru.Cache[*appmesh.VirtualNodeSpec, [sha256.Size]byte]
	outbound *lru.Cache[outboundKey, keptPart]
	own      *lru.Cache[ownKey, keptPart]
}

// keptPart is a part and what its translation read.
type keptPart struct {
	part *ir.Proxy
	deps *deps
}

// ownKey names a virtual node's own part.
type ownKey struct{ mesh, node, opts string }

// memoSize bounds each table of a Memo: more than the virtual nodes of
// the largest fleets measured (10,000 proxies, each its own node).
const memoSize = 1 << 15

// NewMemo returns an empty Memo.
func NewMemo() *Memo { return newMemoSized(memoSize) }

// newMemoSized is NewMemo with each table bounded at size (tests).
func newMemoSized(size int) *Memo {
	return &Memo{specs: newLRU[*appmesh.VirtualNodeSpec, [sha256.Size]byte](size),
		outbound: newLRU[outboundKey, keptPart](size), own: newLRU[ownKey, keptPart](size)}
}

// Len is the number of entries the Memo holds, for metrics.
func (m *Memo) Len() int { return m.specs.Len() + m.outbound.Len() + m.own.Len() }

// newLRU is lru.New for a size known to be positive.
func newLRU[K comparable, V any](size int) *lru.Cache[K, V] {
	c, err := lru.New[K, V](size)
	if err != nil {
		panic(err) // only for size <= 0
	}
	return c
}

// outboundInputs returns the SHA-256 of the JSON of the spec fields
// outbound translation reads.
func (m *Memo) outboundInputs(spec *appmesh.VirtualNodeSpec) ([sha256.Size]byte, error) {
	if s, ok := m.specs.Get(spec); ok {
		return s, nil
	}
	s, err := ir.Digest(outboundSpec{Backends: spec.Backends, BackendDefaults: spec.BackendDefaults, Logging: spec.Logging})
	if err != nil {
		return s, err
	}
	m.specs.Add(spec, s)
	return s, nil
}

// kept returns a part translated for an earlier snapshot if everything it
// read is unchanged in mesh.
func kept[K comparable](g *lru.Cache[K, keptPart], k K, mesh *meshview.Mesh) *ir.Proxy {
	e, ok := g.Get(k)
	if ok && e.deps.hold(mesh) {
		return e.part
	}
	return nil
}

// keep remembers a part and what it read.
func keep[K comparable](g *lru.Cache[K, keptPart], k K, part *ir.Proxy, d *deps) {
	g.Add(k, keptPart{part, d})
}

// Parts translates one proxy into closed parts whose union (Merge) is what
// Proxy returns. The first part is the proxy's own and carries its ID; a
// virtual node also has its outbound part, which proxies with the same
// outbound inputs share (the same pointer).
func (c *Cache) Parts(node NodeRef, opts Options) ([]*ir.Proxy, error) {
	own := &ir.Proxy{ID: NodeID(node)}
	if node.Kind != KindVirtualNode && node.Kind != KindVirtualGateway {
		return nil, fmt.Errorf("irgen: proxy %s: unknown kind %q (want %s or %s)",
			own.ID, node.Kind, KindVirtualNode, KindVirtualGateway)
	}
	if c.snap == nil {
		return []*ir.Proxy{own}, nil
	}
	mesh := c.snap.Mesh(node.Mesh)
	if node.Kind == KindVirtualGateway {
		if vg := meshGateway(mesh, node.Name); vg != nil {
			translateGateway(mesh, vg, opts, c.eps, own)
		}
		return []*ir.Proxy{own}, nil
	}
	if mesh == nil || mesh.VirtualNodes.Get(node.Name) == nil {
		return []*ir.Proxy{own}, nil
	}
	vn := mesh.VirtualNodes.Get(node.Name)
	opts = opts.withDefaults(prefersIPv6(ipPreference(mesh, vn)))
	optsKey := opts.key()
	return []*ir.Proxy{c.ownPart(mesh, vn, node, opts, optsKey), c.outboundPart(mesh, vn, opts, optsKey)}, nil
}

// ownPart returns a virtual node's own part: its listeners and local
// clusters (none for a node without listeners). opts have defaults applied
// and optsKey is their key.
func (c *Cache) ownPart(mesh *meshview.Mesh, vn *meshview.VirtualNode, node NodeRef, opts Options, optsKey string) *ir.Proxy {
	key := ownKey{mesh: mesh.Name, node: node.Name, opts: optsKey}
	if part := kept(c.memo.own, key, mesh); part != nil {
		return part
	}
	own := &ir.Proxy{ID: NodeID(node)}
	d := newDeps(mesh)
	d.add(depVirtualNode, node.Name, vn) // the node itself; the mesh spec is always a dependency
	if len(vn.Spec.Listeners) > 0 {
		t := newTranslator(mesh, vn, opts, c.eps)
		t.out, t.deps = own, d
		t.inbound()
		t.finish()
	}
	keep(c.memo.own, key, own, d)
	return own
}

// outboundSpec is everything the outbound translation of a virtual node
// reads from its spec: translateOutbound hands the translator a node
// holding only these fields, so nothing else can leak into a shared part.
// Besides the spec, it reads the mesh snapshot and the proxy's options,
// which complete the key.
type outboundSpec struct {
	Backends        []appmesh.Backend
	BackendDefaults *appmesh.BackendDefaults
	Logging         *appmesh.Logging
}

// outboundPart returns the node's outbound part, translating it once per
// distinct key. opts are the node's options with defaults applied, optsKey
// their key.
func (c *Cache) outboundPart(mesh *meshview.Mesh, vn *meshview.VirtualNode, opts Options, optsKey string) *ir.Proxy {
	spec := outboundSpec{Backends: vn.Spec.Backends, BackendDefaults: vn.Spec.BackendDefaults, Logging: vn.Spec.Logging}
	inputs, err := c.memo.outboundInputs(vn.Spec)
	if err != nil { // not expected of decoded specs; translate unshared
		return translateOutbound(mesh, spec, opts, c.eps, nil)
	}
	key := outboundKey{mesh: mesh.Name, opts: optsKey, spec: inputs}
	c.mu.Lock()
	sp := c.outbound[key]
	if sp == nil {
		sp = &sharedPart{}
		c.outbound[key] = sp
	}
	c.mu.Unlock()
	sp.once.Do(func() {
		if sp.part = kept(c.memo.outbound, key, mesh); sp.part != nil {
			return
		}
		d := newDeps(mesh)
		sp.part = translateOutbound(mesh, spec, opts, c.eps, d)
		keep(c.memo.outbound, key, sp.part, d)
	})
	return sp.part
}

// translateOutbound builds an outbound part from its key's inputs alone,
// recording in d (if not nil) the mesh objects it reads.
func translateOutbound(mesh *meshview.Mesh, spec outboundSpec, opts Options, eps Endpoints, d *deps) *ir.Proxy {
	node := &meshview.VirtualNode{Resource: &appmesh.Resource{}, Spec: &appmesh.VirtualNodeSpec{
		Backends: spec.Backends, BackendDefaults: spec.BackendDefaults, Logging: spec.Logging}}
	t := &translator{mesh: mesh, node: node, opts: opts, eps: eps, logs: accessLogs(spec.Logging),
		clusters: map[string]*ir.Cluster{}, out: &ir.Proxy{}, deps: d}
	t.outbound()
	t.finish()
	return t.out
}

// Merge joins closed parts into one proxy (the first part's ID), every list
// sorted by name and warnings kept once, in order.
func Merge(parts ...*ir.Proxy) *ir.Proxy {
	out := &ir.Proxy{}
	if len(parts) > 0 {
		out.ID = parts[0].ID
	}
	seen := map[string]bool{}
	for _, p := range parts {
		out.Listeners = append(out.Listeners, p.Listeners...)
		out.RouteConfigs = append(out.RouteConfigs, p.RouteConfigs...)
		out.Clusters = append(out.Clusters, p.Clusters...)
		for _, w := range p.Warnings {
			if !seen[w] {
				seen[w] = true
				out.Warnings = append(out.Warnings, w)
			}
		}
	}
	slices.SortStableFunc(out.Listeners, func(a, b ir.Listener) int { return cmp.Compare(a.Name, b.Name) })
	slices.SortStableFunc(out.RouteConfigs, func(a, b ir.RouteConfig) int { return cmp.Compare(a.Name, b.Name) })
	slices.SortStableFunc(out.Clusters, func(a, b ir.Cluster) int { return cmp.Compare(a.Name, b.Name) })
	return out
}
