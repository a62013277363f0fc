package xdsserver

import (
	"bytes"
	"testing"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/protobuf/proto"
)

// TestPreparedAny: the Any every response shares holds the resource's
// deterministic encoding under its type URL, and the delta Resource around
// it its name and content version.
func TestPreparedAny(t *testing.T) {
	eds := &clusterv3.Cluster{Name: "c-eds", ClusterDiscoveryType: &clusterv3.Cluster_Type{Type: clusterv3.Cluster_EDS},
		EdsClusterConfig: &clusterv3.Cluster_EdsClusterConfig{EdsConfig: &corev3.ConfigSource{
			ConfigSourceSpecifier: &corev3.ConfigSource_Ads{Ads: &corev3.AggregatedConfigSource{}}}}}
	cla := &endpointv3.ClusterLoadAssignment{ClusterName: "c-eds", Endpoints: []*endpointv3.LocalityLbEndpoints{{}}}
	var all []types.Resource
	for _, items := range routed(t, time.Second, 7) {
		all = append(all, items...)
	}
	all = append(all, eds, cla)
	for _, r := range all {
		p, err := prepare(r)
		if err != nil {
			t.Fatal(err)
		}
		want, err := proto.MarshalOptions{Deterministic: true}.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		name := cachev3.GetResourceName(r)
		if !bytes.Equal(p.any.GetValue(), want) || p.any.GetTypeUrl() != typeURLOf(r) {
			t.Errorf("%T %q: Any %s holds other bytes", r, name, p.any.GetTypeUrl())
		}
		back, err := p.any.UnmarshalNew()
		if err != nil || !proto.Equal(back, r) {
			t.Errorf("%T %q: Any decodes to %v (err %v)", r, name, back, err)
		}
		if p.delta.GetName() != name || p.delta.GetVersion() != cachev3.HashResource(want) || p.delta.GetResource() != p.any {
			t.Errorf("%T %q: delta resource %v", r, name, p.delta)
		}
	}
}

// TestPreparedReferences: references are learnt from the real resource,
// so the consistency check still sees a listener's route configs and an
// EDS cluster's load assignment.
func TestPreparedReferences(t *testing.T) {
	p, err := prepare(listener(t, "l1", "r1"))
	if err != nil {
		t.Fatal(err)
	}
	if !p.refs[resourcev3.RouteType]["r1"] {
		t.Errorf("listener refs = %v, want route r1", p.refs)
	}
	if p.any == nil || p.name != "l1" || p.version == "" {
		t.Errorf("prepared = %+v", p)
	}
}

// TestPreparedLifetime: the server keeps what it learnt from a resource
// object while some node's snapshot holds it, shares it between nodes, and
// lets go when the last snapshot holding it is replaced or cleared.
func TestPreparedLifetime(t *testing.T) {
	s := New(Options{})
	shared := routed(t, time.Second, 10)
	for _, node := range []string{"a", "b"} {
		if err := s.SetResources(node, "v1", shared); err != nil {
			t.Fatal(err)
		}
	}
	if got := s.prepared.size(); got != 3 {
		t.Fatalf("two nodes holding the same 3 objects: %d prepared, want 3", got)
	}
	// Node a gets equal content in new objects: its version holds, and
	// the server now holds both sets.
	if err := s.SetResources("a", "v2", routed(t, time.Second, 10)); err != nil {
		t.Fatal(err)
	}
	if got := s.cache.snapshot("a").types[types.Route].version; got != "v1" {
		t.Errorf("equal content in new objects versioned %q, want v1 kept", got)
	}
	if got := s.prepared.size(); got != 6 {
		t.Errorf("%d prepared, want 6", got)
	}
	if err := s.SetResources("b", "v2", routed(t, time.Second, 20)); err != nil {
		t.Fatal(err)
	}
	// b moves to 3 new objects: nothing holds the first set any more.
	if got := s.prepared.size(); got != 6 {
		t.Errorf("%d prepared after b moved on, want 6", got)
	}
	s.ClearNode("a")
	s.ClearNode("b")
	if got := s.prepared.size(); got != 0 {
		t.Errorf("%d prepared after both nodes were cleared, want 0", got)
	}
}
