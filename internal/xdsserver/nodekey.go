package xdsserver

import (
	"crypto/sha256"
	"encoding/hex"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	lru "github.com/hashicorp/golang-lru/v2"
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
// marshal and hash the metadata again. Owner: the Server's cache. Bound:
// an LRU of nodeKeyCacheSize node objects (hashicorp/golang-lru), so the
// nodes of closed streams are dropped. Invalidation: none, a node object
// is never modified.
type keyHash struct {
	keys *lru.Cache[*corev3.Node, string]
}

// nodeKeyCacheSize is more than the streams of the largest fleets
// measured (10,000); past it keys are only computed again.
const nodeKeyCacheSize = 1 << 15

func newKeyHash() *keyHash { return newKeyHashSized(nodeKeyCacheSize) }

func newKeyHashSized(size int) *keyHash {
	c, err := lru.New[*corev3.Node, string](size)
	if err != nil {
		panic(err) // only for size <= 0
	}
	return &keyHash{keys: c}
}

func (h *keyHash) ID(node *corev3.Node) string {
	if key, ok := h.keys.Get(node); ok {
		return key
	}
	key := NodeKey(node)
	h.keys.Add(node, key)
	return key
}
