package xdsserver

import (
	"crypto/sha256"
	"encoding/hex"
	"sync"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	"google.golang.org/protobuf/proto"
)

// ShapeMetadataKey is the node metadata key under which a Trellis sidecar
// describes its proxy's shape (interception, bind addresses, ports).
const ShapeMetadataKey = "trellis"

// NodeKey names the snapshot a proxy gets. Replicas of one virtual node
// share a node id; in App Mesh's shape they also share every listener,
// so they share one snapshot (the key is the node id). A proxy that
// describes its shape (bind addresses, ports) needs configuration of its
// own, so its key adds a digest of that description: two replicas bound
// to different addresses each get listeners on their own address.
func NodeKey(node *corev3.Node) string {
	shape := node.GetMetadata().GetFields()[ShapeMetadataKey]
	if shape == nil {
		return node.GetId()
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(shape)
	if err != nil {
		return node.GetId()
	}
	sum := sha256.Sum256(b)
	return node.GetId() + "#" + hex.EncodeToString(sum[:6])
}

// keyHash makes the cache look snapshots up by NodeKey. The cache
// asks on every request, and a stream passes the node of its first request
// with each one, so keys are remembered by node object: an ACK does not
// marshal and hash the metadata again. Entries live in two generations
// (see preparedCache), so the nodes of closed streams are dropped.
type keyHash struct {
	mu       sync.Mutex
	cur, old map[*corev3.Node]string
}

const nodeKeyGeneration = 1 << 14

func newKeyHash() *keyHash { return &keyHash{cur: map[*corev3.Node]string{}} }

func (h *keyHash) ID(node *corev3.Node) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	key, ok := h.cur[node]
	if !ok {
		if key, ok = h.old[node]; !ok {
			key = NodeKey(node)
		}
		if len(h.cur) >= nodeKeyGeneration {
			h.old, h.cur = h.cur, make(map[*corev3.Node]string, nodeKeyGeneration)
		}
		h.cur[node] = key
	}
	return key
}
