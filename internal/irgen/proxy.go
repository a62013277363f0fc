package irgen

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/trellis-mesh/trellis/internal/apis/appmesh"
	"github.com/trellis-mesh/trellis/internal/ir"
	"github.com/trellis-mesh/trellis/internal/meshview"
)

// Proxy translates one proxy. It is pure and deterministic. A node that is
// not in the snapshot (or a nil snapshot) yields a proxy with no listeners
// or clusters, not an error: the proxy waits for its resource; the same
// holds for a virtual gateway (gateway.go). The only error is a NodeRef of
// an unknown kind.
func Proxy(snap *meshview.Snapshot, node NodeRef, opts Options, eps Endpoints) (*ir.Proxy, error) {
	parts, err := NewCache(snap, eps, nil).Parts(node, opts)
	if err != nil {
		return nil, err
	}
	return Merge(parts...), nil
}

// translator holds one translation: its inputs, and the clusters and
// warnings gathered so far.
type translator struct {
	mesh *meshview.Mesh
	node *meshview.VirtualNode
	opts Options
	eps  Endpoints
	// logs is the node's access log, shared by every HCM and TCP proxy.
	logs []ir.AccessLog
	out  *ir.Proxy
	// clusters by name: several routes may share a backend cluster.
	clusters map[string]*ir.Cluster
	// deps, when set, records the mesh objects read (deps.go).
	deps *deps
}

func newTranslator(mesh *meshview.Mesh, node *meshview.VirtualNode, opts Options, eps Endpoints) *translator {
	t := &translator{mesh: mesh, node: node, eps: eps, clusters: map[string]*ir.Cluster{}}
	t.opts = opts.withDefaults(prefersIPv6(ipPreference(mesh, node)))
	t.logs = accessLogs(node.Spec.Logging)
	return t
}

// warnf records an App Mesh setting the translation could not honour.
func (t *translator) warnf(format string, args ...any) {
	t.out.Warnings = append(t.out.Warnings, fmt.Sprintf(format, args...))
}

// addCluster adds a cluster unless one of that name exists (the first
// definition wins; see clusters.go for why that is safe).
func (t *translator) addCluster(c *ir.Cluster) {
	if _, ok := t.clusters[c.Name]; !ok {
		t.clusters[c.Name] = c
	}
}

// finish drops clusters nothing routes to (a TCP service that lost its
// port to an HTTP one), removes repeated warnings (a route without a match
// port is translated once per router listener) and sorts every output list
// by name so goldens and pushes are stable.
func (t *translator) finish() {
	used := t.referencedClusters()
	for _, name := range sortedKeys(t.clusters) {
		if used[name] {
			t.out.Clusters = append(t.out.Clusters, *t.clusters[name])
		}
	}
	seen := map[string]bool{}
	t.out.Warnings = slices.DeleteFunc(t.out.Warnings, func(w string) bool {
		dup := seen[w]
		seen[w] = true
		return dup
	})
	slices.SortFunc(t.out.Listeners, func(a, b ir.Listener) int { return cmp.Compare(a.Name, b.Name) })
	slices.SortFunc(t.out.RouteConfigs, func(a, b ir.RouteConfig) int { return cmp.Compare(a.Name, b.Name) })
}

// referencedClusters names every cluster a route or TCP proxy uses.
func (t *translator) referencedClusters() map[string]bool {
	used := map[string]bool{}
	add := func(cs []ir.WeightedCluster) {
		for _, c := range cs {
			used[c.Name] = true
		}
	}
	for _, rc := range t.out.RouteConfigs {
		for _, vh := range rc.VirtualHosts {
			for _, r := range vh.Routes {
				add(r.Action.Clusters)
			}
		}
	}
	for _, l := range t.out.Listeners {
		chains := l.FilterChains
		if l.DefaultChain != nil {
			chains = append(slices.Clone(chains), *l.DefaultChain)
		}
		for _, c := range chains {
			if c.TCP != nil {
				add(c.TCP.Clusters)
			}
		}
	}
	return used
}

// meshSpec returns the mesh spec, or an empty one while the mesh record is
// missing (a transient state meshview allows).
func (t *translator) meshSpec() *appmesh.MeshSpec {
	if t.mesh.Spec == nil {
		return &appmesh.MeshSpec{}
	}
	return t.mesh.Spec
}

// sortedKeys returns a map's keys in order.
func sortedKeys[K cmp.Ordered, V any](m map[K]V) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// u32 clamps a count from the API into a uint32 threshold.
func u32(v int64) uint32 {
	return uint32(min(max(v, 0), int64(^uint32(0))))
}
