package manager

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/trellis-mesh/trellis/internal/apis/appmesh"
)

// record is the stored form of a resource: the resource as the API shows
// it, plus what idempotency needs. Embedding keeps the JSON flat, so any
// reader can decode a stored value into an appmesh.Resource.
type record struct {
	appmesh.Resource
	// CreateToken/CreateHash identify the Create that made the resource; a
	// retry with the same token and request returns it instead of failing.
	CreateToken string `json:"createToken,omitempty"`
	CreateHash  string `json:"createHash,omitempty"`
	// UpdateToken/UpdateHash identify the last applied Update.
	UpdateToken string `json:"updateToken,omitempty"`
	UpdateHash  string `json:"updateHash,omitempty"`
}

func decodeRecord(b []byte) (*record, error) {
	var r record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("decode stored resource: %w", err)
	}
	return &r, nil
}

func (r *record) encode() []byte {
	b, err := json.Marshal(r)
	if err != nil {
		// Every member is a plain value or raw JSON we produced ourselves.
		panic(fmt.Sprintf("encode record: %v", err))
	}
	return b
}

// requestHash fingerprints a write request so a reused clientToken can be
// told apart from a retry. Spec JSON is canonical (re-marshalled), so equal
// requests hash equal.
func requestHash(op string, id appmesh.Identity, spec []byte, tags []appmesh.TagRef) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%d\x00%s\x00%s\x00%s\x00", op, id.Kind, id.Mesh, id.Parent, id.Name)
	h.Write(spec)
	for _, t := range tags {
		fmt.Fprintf(h, "\x00%s=%s", t.Key, t.Value)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// NewUID returns a random RFC 4122 version 4 UUID, the form App Mesh uses.
func NewUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	x := hex.EncodeToString(b[:])
	return x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:]
}
