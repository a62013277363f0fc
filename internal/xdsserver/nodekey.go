package xdsserver

import (
	"crypto/sha256"
	"encoding/hex"

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

// keyHash makes the snapshot cache look snapshots up by NodeKey.
type keyHash struct{}

func (keyHash) ID(node *corev3.Node) string { return NodeKey(node) }
