package appmesh

import (
	"fmt"
	"math"
	"strconv"
	"time"
)

// Timestamp is an instant encoded as App Mesh does on the wire: a JSON
// number of epoch seconds with a millisecond fraction (1649252750.072).
// The SDKs reject strings here.
type Timestamp struct{ time.Time }

// MarshalJSON writes epoch seconds with up to three decimals.
func (t Timestamp) MarshalJSON() ([]byte, error) {
	ms := t.UnixMilli()
	s := strconv.FormatFloat(float64(ms)/1000, 'f', -1, 64)
	return []byte(s), nil
}

// UnmarshalJSON reads epoch seconds (fraction allowed).
func (t *Timestamp) UnmarshalJSON(b []byte) error {
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return fmt.Errorf("timestamp %q: want epoch seconds", b)
	}
	t.Time = time.UnixMilli(int64(math.Round(f * 1000))).UTC()
	return nil
}

// ResourceMetadata is the server-owned metadata of every resource.
type ResourceMetadata struct {
	Arn           string    `json:"arn"`
	CreatedAt     Timestamp `json:"createdAt"`
	LastUpdatedAt Timestamp `json:"lastUpdatedAt"`
	MeshOwner     string    `json:"meshOwner"`
	ResourceOwner string    `json:"resourceOwner"`
	Uid           string    `json:"uid"`
	Version       int64     `json:"version"`
}

// ResourceStatus is the status object of every resource kind.
type ResourceStatus struct {
	Status string `json:"status"`
}

// Status codes.
const (
	StatusActive   = "ACTIVE"
	StatusInactive = "INACTIVE"
	StatusDeleted  = "DELETED"
)

// TagRef is one tag of a resource.
type TagRef struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}
