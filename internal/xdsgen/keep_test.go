package xdsgen

import (
	"testing"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
)

// TestKeepUnchanged: equal resources keep their old objects, changed and
// new ones are next's, and neither input is modified.
func TestKeepUnchanged(t *testing.T) {
	prev := &Resources{
		Clusters: []*clusterv3.Cluster{{Name: "a"}, {Name: "b", AltStatName: "old"}},
		Routes:   []*routev3.RouteConfiguration{{Name: "r"}},
	}
	next := &Resources{
		Clusters: []*clusterv3.Cluster{{Name: "a"}, {Name: "b", AltStatName: "new"}, {Name: "c"}},
		Routes:   []*routev3.RouteConfiguration{{Name: "r"}},
	}
	nextB := next.Clusters[1]
	got := KeepUnchanged(next, prev)
	if got.Clusters[0] != prev.Clusters[0] || got.Routes[0] != prev.Routes[0] {
		t.Error("unchanged resources did not keep their objects")
	}
	if got.Clusters[1] != nextB || got.Clusters[2] != next.Clusters[2] {
		t.Error("changed or new resources lost")
	}
	if next.Clusters[0] == prev.Clusters[0] || next.Clusters[1] != nextB {
		t.Error("next was modified")
	}
}
