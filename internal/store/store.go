package store

import (
	"context"
	"errors"
)

// Sentinel errors every backend returns (wrapped with context is fine; callers
// use errors.Is).
var (
	// ErrNotFound: Get of a key that does not exist.
	ErrNotFound = errors.New("store: key not found")
	// ErrConflict: a Txn's comparisons did not all hold; nothing was written.
	// Callers re-read and retry.
	ErrConflict = errors.New("store: comparison failed")
	// ErrCompacted: Watch asked for a revision older than the oldest event the
	// backend still keeps. The watcher must List afresh and watch from there.
	ErrCompacted = errors.New("store: revision compacted")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("store: closed")
)

// KV is one stored key. Revisions are store-wide and strictly increasing:
// every successful Txn that writes anything gets exactly one new revision,
// shared by all of its writes (as in etcd).
type KV struct {
	Key   string
	Value []byte
	// CreateRevision is the revision of the Txn that created the key.
	CreateRevision int64
	// ModRevision is the revision of the Txn that last wrote the key.
	ModRevision int64
}

// Compare is one condition of a Txn. All comparisons of a Txn are evaluated
// atomically with its writes.
type Compare struct {
	Key string
	// Prefix makes the comparison apply to every key that starts with Key.
	Prefix bool
	// Kind selects the rule; see the constructors below.
	Kind CompareKind
	// Revision is the operand of the rule.
	Revision int64
}

// CompareKind selects how Compare.Revision is used.
type CompareKind int

const (
	// ModRevisionEquals holds when the key's ModRevision equals Revision;
	// Revision 0 means "the key does not exist". Not valid with Prefix.
	ModRevisionEquals CompareKind = iota + 1
	// ModRevisionAtMost holds when no key (under the prefix, or the key
	// itself) has a ModRevision greater than Revision. Absent keys hold.
	// Deletions are not seen, exactly as in etcd range compares.
	ModRevisionAtMost
)

// KeyAt holds when key exists with exactly this ModRevision (0: key absent).
func KeyAt(key string, modRevision int64) Compare {
	return Compare{Key: key, Kind: ModRevisionEquals, Revision: modRevision}
}

// KeyAbsent holds when key does not exist.
func KeyAbsent(key string) Compare { return KeyAt(key, 0) }

// PrefixUnchangedSince holds when no key under prefix was created or
// modified after revision rev.
func PrefixUnchangedSince(prefix string, rev int64) Compare {
	return Compare{Key: prefix, Prefix: true, Kind: ModRevisionAtMost, Revision: rev}
}

// Op is one write of a Txn.
type Op struct {
	Key string
	// Value is written when Delete is false.
	Value  []byte
	Delete bool
}

// Put returns a write of value at key.
func Put(key string, value []byte) Op { return Op{Key: key, Value: value} }

// Del returns a deletion of key. Deleting an absent key is a no-op, not an error.
func Del(key string) Op { return Op{Key: key, Delete: true} }

// ListOptions bounds a List.
type ListOptions struct {
	// After returns only keys strictly greater than After (for pagination).
	After string
	// Limit caps the number of returned keys; 0 means no limit.
	Limit int
}

// EventType says what happened to a key.
type EventType int

const (
	EventPut EventType = iota + 1
	EventDelete
)

func (t EventType) String() string {
	switch t {
	case EventPut:
		return "PUT"
	case EventDelete:
		return "DELETE"
	}
	return "UNKNOWN"
}

// Event is one change delivered by Watch. For EventDelete, KV.Value is nil,
// KV.ModRevision is the revision of the deletion and PrevValue holds the
// value just before deletion.
type Event struct {
	Type      EventType
	KV        KV
	PrevValue []byte
}

// WatchResponse carries the events of one or more consecutive revisions, in
// revision order. Err is set once, on the last response before the channel
// closes, when the watch ended for a reason other than context cancellation
// (ErrCompacted, ErrClosed, or a backend failure).
type WatchResponse struct {
	Events []Event
	// Revision is the store revision up to which this response is complete.
	Revision int64
	Err      error
}

// Store is the versioned key-value contract of Trellis. It knows nothing of
// App Mesh. Implementations must be safe for concurrent use, and a Txn that
// returned nil must survive a crash of the process (durable on return).
type Store interface {
	// Get returns the key or ErrNotFound.
	Get(ctx context.Context, key string) (KV, error)
	// List returns keys starting with prefix in ascending byte order, and the
	// store revision the result was read at.
	List(ctx context.Context, prefix string, opts ListOptions) ([]KV, int64, error)
	// Count returns how many keys start with prefix, without reading values.
	Count(ctx context.Context, prefix string) (int64, error)
	// Txn atomically checks every comparison and, only if all hold, applies
	// every op under one new revision, which it returns. If a comparison
	// fails it returns ErrConflict and writes nothing. A Txn whose ops are
	// all deletions of absent keys still succeeds but may not create a
	// revision (it then returns the current revision).
	Txn(ctx context.Context, cmps []Compare, ops []Op) (int64, error)
	// Watch delivers every change to keys under prefix with a revision
	// greater than fromRevision, in revision order, until ctx is cancelled
	// or the store closes, then closes the channel. fromRevision is always
	// an exclusive lower bound: 0 replays all retained history, and "from
	// now" is Watch(Revision()) (race-free: writes between the two calls
	// are replayed). A fromRevision older than the backend's retained
	// history yields a single response with ErrCompacted; a negative one
	// is an error. Readers that List then Watch from the List's revision
	// therefore miss nothing, even on an empty store (revision 0).
	Watch(ctx context.Context, prefix string, fromRevision int64) (<-chan WatchResponse, error)
	// Revision returns the current store revision.
	Revision(ctx context.Context) (int64, error)
	// Close releases the store; pending watches end with ErrClosed.
	Close() error
}
