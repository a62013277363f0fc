package ir

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
)

// Digest is the SHA-256 of v's JSON encoding, streamed into the hash. The
// translation stages key shared work with it: equal IR (every field of it,
// as the JSON tags name them) has an equal digest.
func Digest(v any) ([sha256.Size]byte, error) {
	h := sha256.New()
	if err := json.NewEncoder(h).Encode(v); err != nil {
		return [sha256.Size]byte{}, fmt.Errorf("digest %T: %w", v, err)
	}
	var d [sha256.Size]byte
	h.Sum(d[:0])
	return d, nil
}
