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

// UnmarshalJSON reads epoch seconds (fraction allowed), to the millisecond.
// What MarshalJSON writes (digits, then at most three decimals) is read
// exactly by epochMillis; anything else goes through strconv.ParseFloat.
// Besides being cheaper, this keeps a describe's stack shallow: decoding a
// stored record is the deepest point of a describe, and ParseFloat's frame
// (about 1 KB) there made a connection's goroutine need a stack larger
// than 8 KB, so that one more handler frame (the auth middleware's) had
// the stack copied to a larger one after every GC had shrunk it.
func (t *Timestamp) UnmarshalJSON(b []byte) error {
	if ms, ok := epochMillis(b); ok {
		t.Time = time.UnixMilli(ms).UTC()
		return nil
	}
	return t.unmarshalFloat(b)
}

// unmarshalFloat is the general case of UnmarshalJSON.
func (t *Timestamp) unmarshalFloat(b []byte) error {
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return fmt.Errorf("timestamp %q: want epoch seconds", b)
	}
	t.Time = time.UnixMilli(int64(math.Round(f * 1000))).UTC()
	return nil
}

// epochMillis reads -?D{1,12}(.F{1,3})? as milliseconds. Within these
// bounds it is exactly what rounding ParseFloat's result times 1000 gives:
// the value times 1000 is an integer, and the float's error times 1000
// stays far below one half.
func epochMillis(b []byte) (int64, bool) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	var ms int64
	i := 0
	for ; i < len(b) && '0' <= b[i] && b[i] <= '9'; i++ {
		ms = ms*10 + int64(b[i]-'0')
	}
	if i == 0 || i > 12 {
		return 0, false
	}
	var frac, n int64
	if i < len(b) {
		if b[i] != '.' {
			return 0, false
		}
		for i++; i < len(b) && '0' <= b[i] && b[i] <= '9'; i++ {
			frac, n = frac*10+int64(b[i]-'0'), n+1
		}
		if n == 0 || n > 3 || i != len(b) {
			return 0, false
		}
	}
	for ; n < 3; n++ {
		frac *= 10
	}
	ms = ms*1000 + frac
	if neg {
		ms = -ms
	}
	return ms, true
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
