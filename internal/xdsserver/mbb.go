package xdsserver

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	"github.com/prometheus/client_golang/prometheus"
)

// Make before break. A snapshot that moves a route from one cluster to
// another (blue 100 -> green 100) adds green and drops blue. Sent as is, in
// type order, Envoy removes blue on the CDS response while the routes it
// runs still send there, and the route configuration naming green lands a
// few milliseconds later: requests in between fail with 503 NC
// (cluster_not_found). Sent routes first, they may name green before it has
// warmed. Envoy's xDS protocol asks the server to order it: clusters (and
// their endpoints) before the listeners and routes that use them, and
// removals only once no route names them.
//
// So set publishes such a snapshot (the target) in stages, each a complete,
// consistent snapshot of the node:
//
//	make:   the providers (clusters, endpoints, secrets) of the current
//	        snapshot and the target together; listeners and routes as
//	        Envoy has them. Waits until every stream of the node has
//	        acknowledged those clusters and endpoints: Envoy holds its CDS
//	        ACK while a new cluster warms, so this also waits for warming.
//	switch: the same providers; the target's listeners and routes. Waits
//	        until every stream acknowledged them.
//	break:  the target.
//
// A stage that waits longer than the stage timeout (10 s: a stream that
// neither acknowledges nor goes, a rejected stage) is followed by the next
// anyway, so that one stuck proxy does not hold the others of its node
// key (counted in trellis_xds_mbb_timeouts_total).
//
// A stage is skipped when it changes nothing: a snapshot that only adds
// clusters has no break stage, one that only removes them no make stage,
// one whose listeners and routes do not change is the target at once. A
// stream that rejects a stage holds its node at that stage (it still runs
// the routes that need the kept clusters) until the next set or the stage
// timeout. A node with no stream open gets the target at once.
//
// Stages are planned against the node's published snapshot on this
// server. A proxy that failed over from another replica before this one
// published anything for its node holds clusters this server cannot know;
// a state-of-the-world CDS response without them removes them.

// defaultMaxHeld bounds the clusters a node's staged publication keeps
// beyond its target; past it the target is published at once (counted in
// trellis_xds_mbb_skipped_total).
const defaultMaxHeld = 1024

// defaultStageTimeout bounds how long a stage waits for the node's
// streams; sweepEvery is how often Serve looks for stages past it.
const (
	defaultStageTimeout = 10 * time.Second
	sweepEvery          = time.Second
)

// mbbStage is one snapshot of a staged publication and the types every
// stream of the node must have taken before the next is published.
type mbbStage struct {
	name string // make, switch or break
	snap *nodeVersions
	wait []types.ResponseType
}

// mbbPlan is the rest of a node's staged publication: the published
// stage's wait, the stages still to publish (the last is the target) and
// how many clusters the published stage holds beyond the target. The
// node's state owns it; a set replaces it, and it ends when the target
// is published or the node is cleared.
type mbbPlan struct {
	wait   []types.ResponseType
	making bool      // the published stage is a make stage
	since  time.Time // when the published stage was
	rest   []mbbStage
	held   int
}

// mbbMetrics are the make-before-break collectors.
type mbbMetrics struct {
	held     prometheus.Gauge
	stages   *prometheus.CounterVec
	skipped  prometheus.Counter
	timeouts prometheus.Counter
}

func newMBBMetrics() *mbbMetrics {
	return &mbbMetrics{
		held: gauge("trellis_xds_mbb_held_clusters",
			"Clusters kept in nodes' snapshots for make before break: their routes may still name them until every stream acknowledged the routes that do not."),
		stages: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "trellis_xds_mbb_stages_total",
			Help: "Intermediate snapshots published for make before break, by stage (make, switch)."}, []string{"stage"}),
		skipped: counter("trellis_xds_mbb_skipped_total",
			"Snapshots published without make-before-break stages because they would keep more clusters than the bound."),
		timeouts: counter("trellis_xds_mbb_timeouts_total",
			"Make-before-break stages followed by the next without every stream of the node having taken them, after the stage timeout."),
	}
}

// isProvider reports whether listeners and routes depend on type t's
// resources: those are published before them and withdrawn after.
func isProvider(t types.ResponseType) bool {
	return t == types.Cluster || t == types.Endpoint || t == types.Secret
}

// planStages returns the stages that take a node from cur to target (nil:
// publish the target at once) and the clusters they hold beyond it.
// making says the published snapshot is a make stage not yet taken by
// every stream, and inPlan that a staged publication is under way: its
// streams may not have taken the routes yet either.
func planStages(cur, target *nodeVersions, making, inPlan bool, now time.Time) ([]mbbStage, int) {
	if cur == nil {
		return nil, 0
	}
	switching, added, removed := inPlan, false, false
	for t := range types.UnknownType {
		c, n := cur.types[t], target.types[t]
		if !isProvider(t) {
			switching = switching || c.version != n.version || c.present != n.present
			continue
		}
		added = added || !covers(c.content, n.content)
		removed = removed || !covers(n.content, c.content)
	}
	if !switching || (!added && !making && !removed) {
		return nil, 0
	}
	union := &nodeVersions{version: target.version}
	held := 0
	for t := range types.UnknownType {
		union.types[t] = target.types[t]
		if isProvider(t) {
			var extra int
			union.types[t], extra = unionType(cur.types[t], target.types[t], target.version, now)
			if t == types.Cluster {
				held = extra
			}
		}
	}
	var stages []mbbStage
	if added || making {
		mk := &nodeVersions{version: target.version, types: union.types}
		for t := range types.UnknownType {
			if !isProvider(t) {
				mk.types[t] = cur.types[t]
			}
		}
		stages = append(stages, mbbStage{name: "make", snap: mk, wait: []types.ResponseType{types.Cluster, types.Endpoint}})
	}
	if removed {
		var users []types.ResponseType
		for t := range types.UnknownType {
			if !isProvider(t) {
				users = append(users, t)
			}
		}
		stages = append(stages, mbbStage{name: "switch", snap: union, wait: users})
	}
	return append(stages, mbbStage{name: "break", snap: target}), held
}

// covers reports whether a has every name b has.
func covers(a, b *typeContent) bool {
	if b == nil {
		return true
	}
	for _, p := range b.entries {
		if a.lookup(p.name) == nil {
			return false
		}
	}
	return true
}

// unionType is the target's content of a type with the resources only cur
// has added, and how many those are. When there are none it is the
// target's own typeVersion; otherwise its version is the target's with a
// "+mbb" suffix, which no plain snapshot uses.
func unionType(cur, target typeVersion, version string, now time.Time) (typeVersion, int) {
	if !cur.present || cur.content == nil {
		return target, 0
	}
	var prs []*prepared
	if target.content != nil {
		prs = slices.Clone(target.content.entries)
	}
	extra := 0
	for _, p := range cur.content.entries {
		if target.content.lookup(p.name) == nil {
			prs = append(prs, p)
			extra++
		}
	}
	if extra == 0 {
		return target, 0
	}
	slices.SortFunc(prs, func(a, b *prepared) int { return strings.Compare(a.name, b.name) })
	var sum uint64
	for _, p := range prs {
		sum += p.sum
	}
	if sum == cur.sum && len(prs) == len(cur.content.entries) {
		return cur, extra // the union the node has already (a plan replaced by one with the same target)
	}
	return typeVersion{version: version + "+mbb", sum: sum, present: true, content: newTypeContent(prs), since: now}, extra
}

// publishNext publishes the plan's next stage; the plan ends with its
// target. c.mu is held.
func (c *adsCache) publishNext(st *nodeState) {
	s := st.plan.rest[0]
	st.plan.rest = st.plan.rest[1:]
	if len(st.plan.rest) == 0 {
		c.endPlan(st)
	} else {
		st.plan.wait, st.plan.making, st.plan.since = s.wait, s.name == "make", time.Now()
		c.mbb.stages.WithLabelValues(s.name).Inc()
	}
	c.install(st, s.snap)
}

// advance publishes the node's next stages while every stream has taken
// the published one; c.mu is held.
func (c *adsCache) advance(st *nodeState) {
	for st.plan != nil && st.caughtUp(st.plan.wait) {
		c.publishNext(st)
	}
}

// sweep, until ctx ends, publishes the next stage of every plan whose
// published stage has waited past the stage timeout.
func (c *adsCache) sweep(ctx context.Context) {
	tick := time.NewTicker(sweepEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			c.mu.Lock()
			for _, st := range c.nodes {
				if st.plan != nil && now.Sub(st.plan.since) >= c.stageTimeout {
					c.mbb.timeouts.Inc()
					c.publishNext(st)
					c.advance(st)
				}
			}
			c.mu.Unlock()
		}
	}
}

// endPlan drops the node's plan, if any; c.mu is held.
func (c *adsCache) endPlan(st *nodeState) {
	if st.plan != nil {
		c.addHeld(-st.plan.held)
		st.plan = nil
	}
}

// addHeld counts clusters kept by plans; c.mu is held.
func (c *adsCache) addHeld(n int) {
	if n != 0 {
		c.held += n
		c.mbb.held.Set(float64(c.held))
	}
}

// streamView is one stream of a node as the cache sees it: the types it
// has asked for (a bit set by type) and its open watches, one per type at
// most. It is forgotten when its last open watch is cancelled (the stream
// closed, or asks again and gets a new view).
type streamView struct {
	seen  uint32
	open  int
	sotw  [types.UnknownType]*sotwWatch
	delta [types.UnknownType]*deltaWatch
}

// view returns the stream of channel ch, noting that it asked for t.
func (st *nodeState) view(ch any, t types.ResponseType) *streamView {
	if st.streams == nil {
		st.streams = map[any]*streamView{}
	}
	v := st.streams[ch]
	if v == nil {
		v = &streamView{}
		st.streams[ch] = v
	}
	v.seen |= 1 << t
	return v
}

func (v *streamView) setSotw(t types.ResponseType, w *sotwWatch) {
	if v.sotw[t] == nil {
		v.open++
	}
	v.sotw[t] = w
}

func (v *streamView) setDelta(t types.ResponseType, w *deltaWatch) {
	if v.delta[t] == nil {
		v.open++
	}
	v.delta[t] = w
}

// dropSotw closes w in its stream's view; forget drops a view left with
// no open watch (a cancel, not an answer: an answered stream is alive).
func (st *nodeState) dropSotw(t types.ResponseType, w *sotwWatch, forget bool) {
	if v := st.streams[w.ch]; v != nil && v.sotw[t] == w {
		v.sotw[t] = nil
		st.dropped(w.ch, v, forget)
	}
}

func (st *nodeState) dropDelta(t types.ResponseType, w *deltaWatch, forget bool) {
	if v := st.streams[w.ch]; v != nil && v.delta[t] == w {
		v.delta[t] = nil
		st.dropped(w.ch, v, forget)
	}
}

// cancelled is a watch's cancel: drop closes it if it was open; a stream
// left with no open watch is forgotten (it closed, or asks for the type
// again and is seen anew).
func (st *nodeState) cancelled(ch any, open bool, drop func()) {
	if open {
		drop()
	} else if v := st.streams[ch]; v != nil && v.open == 0 {
		delete(st.streams, ch)
	}
}

// answered is the cancel of a watch answered when it was made: it
// forgets the stream if that left it with no open watch.
func (c *adsCache) answered(st *nodeState, ch any) func() {
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		st.cancelled(ch, false, nil)
	}
}

func (st *nodeState) dropped(ch any, v *streamView, forget bool) {
	if v.open--; v.open == 0 && forget {
		delete(st.streams, ch)
	}
}

// caughtUp reports whether every stream of the node has taken the
// published snapshot's content of each type in ts that it asked for
// before: it waits in an open watch of the type having acknowledged (not
// rejected) that version (state of the world) or with nothing of it left
// to receive (delta). It costs a look per stream and type.
func (st *nodeState) caughtUp(ts []types.ResponseType) bool {
	for _, v := range st.streams {
		for _, t := range ts {
			if v.seen&(1<<t) != 0 && !v.took(t, st.snap.types[t]) {
				return false
			}
		}
	}
	return true
}

// took reports whether the stream has taken tv (see caughtUp).
func (v *streamView) took(t types.ResponseType, tv typeVersion) bool {
	if w := v.sotw[t]; w != nil {
		return w.req.GetErrorDetail() == nil && w.req.GetVersionInfo() == tv.version
	}
	if w := v.delta[t]; w != nil {
		changed, removed := deltaChanges(w, tv)
		return w.req.GetErrorDetail() == nil && len(changed) == 0 && len(removed) == 0
	}
	return false
}
