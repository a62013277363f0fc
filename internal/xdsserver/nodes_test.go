package xdsserver

import (
	"fmt"
	"slices"
	"testing"
)

// TestNodeChangesCoalesce: a node that connects and disconnects several
// times before the consumer looks is one change, read as its current
// state; every change wakes the consumer.
func TestNodeChangesCoalesce(t *testing.T) {
	h := start(t)
	for range 3 {
		st, closeStream := h.sotw(t)
		subscribe(t, st, nodeA)
		eventually(t, "connected", func() bool { return h.srv.Node(nodeA).Connected })
		closeStream()
		eventually(t, "disconnected", func() bool { return !h.srv.Node(nodeA).Connected })
	}
	st, _ := h.sotw(t)
	subscribe(t, st, nodeA)
	eventually(t, "connected", func() bool { return h.srv.Node(nodeA).Connected })
	<-h.srv.NodeChanges()
	keys, resync := h.srv.TakeNodeChanges()
	if !slices.Equal(keys, []string{nodeA}) || resync {
		t.Fatalf("changes %v resync %v, want [%s]", keys, resync, nodeA)
	}
	if ns := h.srv.Node(nodeA); !ns.Connected || ns.NodeID != nodeA || ns.Metadata["aws.appmesh.platformInfo"] == nil {
		t.Fatalf("state %+v", ns)
	}
	h.checkMetrics(t, map[string]float64{
		"trellis_xds_node_changes_coalesced_total": 6,
		"trellis_xds_node_changes_pending":         0,
		"trellis_xds_connects_total":               4,
		"trellis_xds_disconnects_total":            3,
		"trellis_xds_connected_nodes":              1,
		`trellis_cache_entries{cache="node_keys"}`: 4, // one per stream's node object
	})
}

// TestNodeChangesBound: past MaxPendingNodeChanges the set is dropped and
// the next take asks for a resynchronisation; nothing is lost, since
// ConnectedNodes has every node.
func TestNodeChangesBound(t *testing.T) {
	const bound = 4
	h := startWith(t, Options{MaxPendingNodeChanges: bound})
	var want []string
	for i := range bound {
		want = append(want, fmt.Sprintf("mesh/m/virtualNode/n%d", i))
		st, _ := h.sotw(t)
		subscribe(t, st, want[i])
	}
	eventually(t, "all connected", func() bool { return len(h.srv.ConnectedNodes()) == bound })
	if keys, resync := h.srv.TakeNodeChanges(); len(keys) != bound || resync {
		t.Fatalf("at the bound: %d changes, resync %v; want %d, false", len(keys), resync, bound)
	}
	for i := range bound + 1 {
		want = append(want, fmt.Sprintf("mesh/m/virtualNode/m%d", i))
		st, _ := h.sotw(t)
		subscribe(t, st, want[bound+i])
	}
	eventually(t, "all connected", func() bool { return len(h.srv.ConnectedNodes()) == 2*bound+1 })
	keys, resync := h.srv.TakeNodeChanges()
	if !resync || len(keys) > 1 {
		t.Fatalf("past the bound: changes %v resync %v, want resync", keys, resync)
	}
	slices.Sort(want)
	if got := h.srv.ConnectedNodes(); !slices.Equal(got, want) {
		t.Fatalf("ConnectedNodes = %v, want %v", got, want)
	}
	h.checkMetrics(t, map[string]float64{"trellis_xds_node_changes_resyncs_total": 1})
	if keys, resync := h.srv.TakeNodeChanges(); len(keys) != 0 || resync {
		t.Fatalf("second take: %v %v", keys, resync)
	}
}
