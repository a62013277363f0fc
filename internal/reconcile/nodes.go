package reconcile

import (
	"slices"

	"github.com/trellis-mesh/trellis/internal/irgen"
	"github.com/trellis-mesh/trellis/internal/xdsserver"
)

// nodesChanged applies the node keys whose connection state changed: it
// reads each key's current state from the xDS server (the truth; the
// changes only say where to look), forgets the proxies that left, and
// builds every proxy that connected in one batch. A key listed twice, or
// whose connect and disconnect came in any order, is read once as it is
// now, so nothing depends on the order or number of changes, and a
// change after the read is taken in the next call.
func (r *Reconciler) nodesChanged() {
	keys, resync := r.xds.TakeNodeChanges()
	if resync {
		keys = r.resyncKeys()
		r.log.Warn("resynchronising proxies from the xDS server's connected nodes", "keys", len(keys))
	}
	slices.Sort(keys)
	keys = slices.Compact(keys)
	var batch []*proxy
	left := 0
	for _, key := range keys {
		st := r.xds.Node(key)
		if !st.Connected {
			if r.disconnected(key) {
				left++
			}
			continue
		}
		if p := r.connected(st); p != nil {
			batch = append(batch, p)
		}
	}
	if len(batch) > 0 || left > 0 { // Debug: a churning client must not flood the log (metrics count it)
		r.log.Debug("proxies changed", "connected", len(batch), "disconnected", left, "total", len(r.proxies))
	}
	r.build("connect", batch)
	r.reportCounts()
}

// resyncKeys is every key the reconciler knows or the server has
// connected: what the dropped change set could have named.
func (r *Reconciler) resyncKeys() []string {
	keys := r.xds.ConnectedNodes()
	for k := range r.proxies {
		keys = append(keys, k)
	}
	return keys
}

// disconnected forgets the proxy of a key with no open stream and drops its
// snapshot; it reports whether the proxy was known.
func (r *Reconciler) disconnected(key string) bool {
	p := r.proxies[key]
	if p != nil {
		r.forget(p)
		delete(r.proxies, key)
		r.log.Debug("proxy disconnected", "node", p.id)
	}
	r.xds.ClearNode(key)
	return p != nil
}

// connected registers the proxy of a connected key and returns it when it
// needs building: it is new (or its node id changed), or it has no
// configuration yet. A known, configured proxy whose stream came back
// before its disconnect was looked at still has its snapshot.
func (r *Reconciler) connected(st xdsserver.NodeState) *proxy {
	p := r.proxies[st.Key]
	if p != nil && p.id == st.NodeID {
		if p.configured() {
			return nil
		}
		return p
	}
	if p != nil {
		r.forget(p)
		delete(r.proxies, st.Key)
	}
	ref, err := xdsserver.ParseNodeID(st.NodeID)
	if err != nil { // the server refuses such streams; kept for other XDS
		r.log.Warn("proxy with an unusable node id; it gets no configuration", "node", st.NodeID, "err", err)
		return nil
	}
	opts, err := optionsFromMetadata(st.Metadata)
	if err != nil {
		r.log.Warn("proxy metadata rejected; using App Mesh defaults", "node", st.NodeID, "err", err)
		opts, _ = optionsFromMetadata(nil)
	}
	p = &proxy{key: st.Key, id: st.NodeID, ref: irgen.NodeRef{Mesh: ref.Mesh, Kind: ref.Kind, Name: ref.Name}, opts: opts}
	r.proxies[st.Key] = p
	r.unconfigured.Add(1)
	r.log.Debug("proxy connected", "node", st.NodeID, "mesh", ref.Mesh, "kind", ref.Kind, "name", ref.Name)
	return p
}
