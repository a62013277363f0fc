package xdsserver

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	"google.golang.org/protobuf/types/known/anypb"
)

// adsCache is the configuration cache go-control-plane's state-of-the-world
// and delta stream servers ask for watches. It follows the semantics of
// go-control-plane's snapshot cache in ADS mode, with three differences
// that matter at a thousand proxies:
//
//   - responses carry the Any each resource object was marshalled into
//     once (prepared.go), shared by every stream and node, where the
//     snapshot cache marshals every resource of every response again;
//   - each type has its own version (versions.go), and delta versions are
//     the resources' content hashes, known before any stream asks;
//   - a state-of-the-world request naming resources the snapshot lacks
//     (ADS consistency: Envoy asks for a route configuration its new
//     listener names before the snapshot has it) keeps its watch and is
//     answered when they appear, instead of being dropped.
//
// Watches of a node are answered in type order (clusters, endpoints,
// listeners, routes, ...), the make-before-break order ADS asks for.
//
// A snapshot that changes which clusters the routes use is published in
// make-before-break stages (mbb.go): set hands the node its target, and
// the watches' requests (Envoy's ACKs) move it on stage by stage.
type adsCache struct {
	hash     cachev3.NodeHash
	prepared *preparedCache // holds the published snapshots' resources
	mbb      *mbbMetrics
	maxHeld  int // clusters a node's staged publication may keep beyond its target
	// stageTimeout is how long a stage waits for the node's streams
	// (sweep); guarded by mu.
	stageTimeout time.Duration

	mu     sync.Mutex
	nodes  map[string]*nodeState
	nextID int64
	held   int // clusters all plans keep, the trellis_xds_mbb_held_clusters gauge
}

// nodeState is one node key's snapshot and open watches.
type nodeState struct {
	snap  *nodeVersions // the published snapshot, nil until SetResources
	sotw  [types.UnknownType]map[int64]*sotwWatch
	delta [types.UnknownType]map[int64]*deltaWatch
	// plan is the staged publication under way, nil when snap is the
	// target (mbb.go).
	plan *mbbPlan
	// streams is the node's streams by response channel: the types each
	// asked for and its open watches (mbb.go).
	streams map[any]*streamView
}

type sotwWatch struct {
	req *discoveryv3.DiscoveryRequest
	sub cachev3.Subscription
	ch  chan cachev3.Response
}

type deltaWatch struct {
	req *discoveryv3.DeltaDiscoveryRequest
	sub cachev3.Subscription
	ch  chan cachev3.DeltaResponse
}

var errFetch = errors.New("xds: fetch (REST xDS) is not served; use ADS over gRPC")

func newADSCache(hash cachev3.NodeHash, prepared *preparedCache, mbb *mbbMetrics) *adsCache {
	return &adsCache{hash: hash, prepared: prepared, mbb: mbb, maxHeld: defaultMaxHeld, stageTimeout: defaultStageTimeout,
		nodes: map[string]*nodeState{}}
}

// state returns a node's state, creating it; c.mu is held.
func (c *adsCache) state(key string) *nodeState {
	st := c.nodes[key]
	if st == nil {
		st = &nodeState{}
		c.nodes[key] = st
	}
	return st
}

// set makes snap the node's target: it is published at once, or in
// make-before-break stages (mbb.go) when it changes which clusters the
// node's listeners and routes use while streams are open.
func (c *adsCache) set(key string, snap *nodeVersions) {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.state(key)
	making := st.plan != nil && st.plan.making
	stages, held := planStages(st.snap, snap, making, st.plan != nil, time.Now())
	if held > c.maxHeld {
		c.mbb.skipped.Inc()
		stages, held = nil, 0
	}
	if stages == nil {
		stages = []mbbStage{{name: "break", snap: snap}}
	}
	c.endPlan(st)
	st.plan = &mbbPlan{rest: stages, held: held}
	c.addHeld(held)
	c.publishNext(st)
	c.advance(st)
}

// install publishes a node's snapshot, answers the watches it satisfies
// and moves the hold on prepared resources to it; c.mu is held.
func (c *adsCache) install(st *nodeState, snap *nodeVersions) {
	prev := st.snap
	st.snap = snap
	defer handOver(c.prepared, prev, snap)
	for t := range types.UnknownType {
		for id, w := range st.sotw[t] {
			if w.req.GetVersionInfo() != snap.types[t].version && respondSotw(w, snap.types[t]) {
				delete(st.sotw[t], id)
				st.dropSotw(t, w, false)
			}
		}
		if len(st.delta[t]) == 0 || (prev != nil && prev.types[t] == snap.types[t]) {
			continue // no delta watch, or same content and version: they wait on
		}
		for id, w := range st.delta[t] {
			if respondDelta(w, snap.types[t]) {
				delete(st.delta[t], id)
				st.dropDelta(t, w, false)
			}
		}
	}
}

// clear forgets a node: its snapshot and any watches.
func (c *adsCache) clear(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st := c.nodes[key]; st != nil {
		c.endPlan(st)
		handOver(c.prepared, st.snap, nil)
	}
	delete(c.nodes, key)
}

// snapshot returns a node's snapshot (nil if none). The server keeps no
// other copy: it versions, reports status and holds prepared resources
// against this one.
func (c *adsCache) snapshot(key string) *nodeVersions {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st := c.nodes[key]; st != nil {
		return st.snap
	}
	return nil
}

// lock resolves a request's type and node key and locks the cache, for
// CreateWatch and CreateDeltaWatch; ok false (a type no snapshot has,
// never answered) leaves it unlocked.
func (c *adsCache) lock(typeURL string, node *corev3.Node) (t types.ResponseType, key string, st *nodeState, ok bool) {
	t = cachev3.GetResponseType(typeURL)
	if t == types.UnknownType {
		return t, "", nil, false
	}
	key = c.hash.ID(node)
	c.mu.Lock()
	return t, key, c.state(key), true
}

// CreateWatch answers a state-of-the-world request at once when the
// snapshot has a newer version of the type, or resources the stream asked
// for and was not sent; otherwise it keeps the watch until set does.
func (c *adsCache) CreateWatch(req *discoveryv3.DiscoveryRequest, sub cachev3.Subscription, ch chan cachev3.Response) (func(), error) {
	t, key, st, ok := c.lock(req.GetTypeUrl(), req.GetNode())
	if !ok {
		return func() {}, nil
	}
	defer c.mu.Unlock()
	v := st.view(ch, t)
	defer c.advance(st) // an acknowledgement may complete a stage
	w := &sotwWatch{req: req, sub: sub, ch: ch}
	if st.snap != nil {
		tv := st.snap.types[t]
		if (req.GetVersionInfo() != tv.version || unsent(sub, tv.content)) && respondSotw(w, tv) {
			return c.answered(st, ch), nil
		}
	}
	v.setSotw(t, w)
	return addWatch(c, key, st, &st.sotw[t], w, func(open bool) { st.cancelled(w.ch, open, func() { st.dropSotw(t, w, true) }) }), nil
}

// CreateDeltaWatch answers a delta request at once when the snapshot has
// resources the stream lacks (or lacks ones it has); otherwise it keeps the
// watch until set does.
func (c *adsCache) CreateDeltaWatch(req *discoveryv3.DeltaDiscoveryRequest, sub cachev3.Subscription, ch chan cachev3.DeltaResponse) (func(), error) {
	t, key, st, ok := c.lock(req.GetTypeUrl(), req.GetNode())
	if !ok {
		return func() {}, nil
	}
	defer c.mu.Unlock()
	v := st.view(ch, t)
	defer c.advance(st)
	w := &deltaWatch{req: req, sub: sub, ch: ch}
	if st.snap != nil && respondDelta(w, st.snap.types[t]) {
		return c.answered(st, ch), nil
	}
	v.setDelta(t, w)
	return addWatch(c, key, st, &st.delta[t], w, func(open bool) { st.cancelled(w.ch, open, func() { st.dropDelta(t, w, true) }) }), nil
}

// addWatch registers a watch of node key under a new id and returns its
// cancel function, which calls drop (saying whether the watch was still
// open) with c.mu held; c.mu is held.
func addWatch[W any](c *adsCache, key string, st *nodeState, watches *map[int64]W, w W, drop func(open bool)) func() {
	if *watches == nil {
		*watches = map[int64]W{}
	}
	c.nextID++
	id := c.nextID
	(*watches)[id] = w
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		_, open := (*watches)[id]
		delete(*watches, id)
		drop(open)
		if st.snap == nil && st.idle() && c.nodes[key] == st {
			delete(c.nodes, key) // a node that never got a snapshot and left
		}
		if c.nodes[key] == st {
			c.advance(st) // a stream that left no longer holds a stage
		}
	}
}

// idle reports whether the node has no open watch.
func (st *nodeState) idle() bool {
	for t := range types.UnknownType {
		if len(st.sotw[t]) > 0 || len(st.delta[t]) > 0 {
			return false
		}
	}
	return true
}

// Fetch is REST xDS, which the server does not serve.
func (c *adsCache) Fetch(context.Context, *discoveryv3.DiscoveryRequest) (cachev3.Response, error) {
	return nil, errFetch
}

// unsent reports whether the snapshot has resources the stream asked for
// (all of them, for a wildcard subscription) and was not sent.
func unsent(sub cachev3.Subscription, content *typeContent) bool {
	if content == nil {
		return false
	}
	sent := sub.ReturnedResources()
	if sub.IsWildcard() {
		for _, p := range content.entries {
			if _, ok := sent[p.name]; !ok {
				return true
			}
		}
		return false
	}
	for name := range sub.SubscribedResources() {
		if _, ok := sent[name]; !ok && content.byName[name] != nil {
			return true
		}
	}
	return false
}

// respondSotw sends the type's resources, all of them for a wildcard
// subscription or those subscribed by name, and reports whether it did: a
// subscription naming resources the snapshot lacks is not answered (ADS
// consistency). It reads the stream's subscription rather than the
// request's names, so an explicit "*" means wildcard, as Envoy means it.
// c.mu is held; the stream's channel has room for a response per type, so
// the send does not block.
func respondSotw(w *sotwWatch, tv typeVersion) bool {
	var anys []*anypb.Any
	returned := map[string]string{}
	if w.sub.IsWildcard() {
		if tv.content != nil {
			anys = tv.content.anys
			for _, p := range tv.content.entries {
				returned[p.name] = tv.version
			}
		}
	} else {
		for _, name := range slices.Sorted(maps.Keys(w.sub.SubscribedResources())) {
			p := tv.content.lookup(name)
			if p == nil {
				return false
			}
			anys = append(anys, p.any)
			returned[name] = tv.version
		}
	}
	w.ch <- &sotwResponse{req: w.req, version: tv.version, resources: anys, returned: returned}
	return true
}

// respondDelta sends what changed for the stream, if anything, and reports
// whether it did. The first response of a wildcard subscription is sent
// even when empty: Envoy waits for it to finish initialising.
func respondDelta(w *deltaWatch, tv typeVersion) bool {
	changed, removed := deltaChanges(w, tv)
	if len(changed) == 0 && len(removed) == 0 && (!w.sub.IsWildcard() || w.req.GetResponseNonce() != "") {
		return false
	}
	w.ch <- &deltaResponse{req: w.req, version: tv.version, resources: changed, removed: removed, next: nextVersions(w.sub, tv.content)}
	return true
}

// deltaChanges is what the stream lacks of tv (new or changed resources)
// and holds that tv lacks (removed names, sorted).
func deltaChanges(w *deltaWatch, tv typeVersion) (changed []*discoveryv3.Resource, removed []string) {
	sent := w.sub.ReturnedResources()
	if w.sub.IsWildcard() {
		if tv.content != nil {
			for _, p := range tv.content.entries {
				if v, ok := sent[p.name]; !ok || v != p.version {
					changed = append(changed, p.delta)
				}
			}
		}
		for name := range sent {
			if tv.content.lookup(name) == nil {
				removed = append(removed, name)
			}
		}
	} else {
		for name := range w.sub.SubscribedResources() {
			v, ok := sent[name]
			if p := tv.content.lookup(name); p != nil {
				if v != p.version {
					changed = append(changed, p.delta)
				}
			} else if ok {
				removed = append(removed, name)
			}
		}
		// Subscriptions are a map: order the response as a wildcard one.
		slices.SortFunc(changed, func(a, b *discoveryv3.Resource) int { return strings.Compare(a.GetName(), b.GetName()) })
	}
	slices.Sort(removed)
	return changed, removed
}

// nextVersions is what a delta stream holds once sent the content: every
// resource of it (wildcard) or those subscribed, by version.
func nextVersions(sub cachev3.Subscription, content *typeContent) map[string]string {
	next := map[string]string{}
	if sub.IsWildcard() {
		if content != nil {
			for _, p := range content.entries {
				next[p.name] = p.version
			}
		}
		return next
	}
	for name := range sub.SubscribedResources() {
		if p := content.lookup(name); p != nil {
			next[name] = p.version
		}
	}
	return next
}

// sotwResponse is a state-of-the-world response whose resources are Anys
// shared with every other response carrying the same objects.
type sotwResponse struct {
	req       *discoveryv3.DiscoveryRequest
	version   string
	resources []*anypb.Any
	returned  map[string]string
}

// GetDiscoveryResponse returns a new message each time: the server sets its
// nonce. The resource Anys are shared and must not be modified.
func (r *sotwResponse) GetDiscoveryResponse() (*discoveryv3.DiscoveryResponse, error) {
	return &discoveryv3.DiscoveryResponse{VersionInfo: r.version, Resources: r.resources, TypeUrl: r.req.GetTypeUrl()}, nil
}
func (r *sotwResponse) GetRequest() *discoveryv3.DiscoveryRequest { return r.req }
func (r *sotwResponse) GetVersion() (string, error)               { return r.version, nil }
func (r *sotwResponse) GetResponseVersion() string                { return r.version }
func (r *sotwResponse) GetReturnedResources() map[string]string   { return r.returned }
func (r *sotwResponse) GetContext() context.Context               { return context.Background() }

// deltaResponse is a delta response of shared Resource messages.
type deltaResponse struct {
	req       *discoveryv3.DeltaDiscoveryRequest
	version   string
	resources []*discoveryv3.Resource
	removed   []string
	next      map[string]string
}

func (r *deltaResponse) GetDeltaDiscoveryResponse() (*discoveryv3.DeltaDiscoveryResponse, error) {
	return &discoveryv3.DeltaDiscoveryResponse{SystemVersionInfo: r.version, Resources: r.resources,
		RemovedResources: r.removed, TypeUrl: r.req.GetTypeUrl()}, nil
}
func (r *deltaResponse) GetDeltaRequest() *discoveryv3.DeltaDiscoveryRequest { return r.req }
func (r *deltaResponse) GetSystemVersion() (string, error)                   { return r.version, nil }
func (r *deltaResponse) GetResponseVersion() string                          { return r.version }
func (r *deltaResponse) GetNextVersionMap() map[string]string                { return r.next }
func (r *deltaResponse) GetReturnedResources() map[string]string             { return r.next }
func (r *deltaResponse) GetContext() context.Context                         { return context.Background() }
