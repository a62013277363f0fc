package xdsserver

import (
	"strings"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	"google.golang.org/protobuf/types/known/structpb"
)

func TestNodeKey(t *testing.T) {
	node := func(md map[string]any) *corev3.Node {
		s, err := structpb.NewStruct(md)
		if err != nil {
			t.Fatal(err)
		}
		return &corev3.Node{Id: nodeA, Metadata: s}
	}
	plain := NodeKey(&corev3.Node{Id: nodeA})
	if plain != nodeA || NodeKey(node(map[string]any{"other": 1.0})) != nodeA {
		t.Fatalf("without shape metadata the key must be the node id, got %q", plain)
	}
	a1 := NodeKey(node(map[string]any{"trellis": map[string]any{"ingressAddress": "127.0.0.2", "interception": "none"}}))
	a2 := NodeKey(node(map[string]any{"trellis": map[string]any{"interception": "none", "ingressAddress": "127.0.0.2"}}))
	b := NodeKey(node(map[string]any{"trellis": map[string]any{"ingressAddress": "127.0.0.3", "interception": "none"}}))
	if a1 != a2 {
		t.Errorf("same shape, different keys: %q %q", a1, a2)
	}
	if a1 == b || !strings.HasPrefix(a1, nodeA+"#") {
		t.Errorf("replicas with different shapes must get their own snapshot: %q %q", a1, b)
	}
}

// TestKeyHashAtBound: the node-key cache holds no more than its bound and
// still answers every node, evicted or not.
func TestKeyHashAtBound(t *testing.T) {
	h := newKeyHashSized(2)
	var nodes []*corev3.Node
	for i := range 5 {
		md, _ := structpb.NewStruct(map[string]any{"trellis": map[string]any{"ingressPort": float64(20000 + i)}})
		nodes = append(nodes, &corev3.Node{Id: nodeA, Metadata: md})
	}
	for range 2 {
		for _, n := range nodes {
			if got := h.ID(n); got != NodeKey(n) {
				t.Fatalf("ID = %q, want %q", got, NodeKey(n))
			}
			if l := h.keys.Len(); l > 2 {
				t.Fatalf("%d keys cached, bound 2", l)
			}
		}
	}
}
