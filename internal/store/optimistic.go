package store

import "context"

// OptimisticReads is an optional interface of stores whose linearizable
// reads wait for a local copy to catch up with a fence (etcd's read
// cache). A writer whose every read is checked by a comparison of the Txn
// that follows (as the manager's writes are: KeyAt, KeyAbsent,
// PrefixUnchangedSince) does not need the wait: if a read was stale, the
// Txn fails with ErrConflict. Only an outcome without a committed Txn (an
// error such as not found, or a replayed answer) can rest on a stale read,
// and EndOptimistic says when it may: the writer then redoes its
// operation, with fenced reads.
type OptimisticReads interface {
	// BeginOptimistic lets the reads of ctx's read session be served
	// from the local copy as it is, without a fence, until a Txn fails or
	// EndOptimistic. It reports false (and changes nothing) when ctx has
	// no read session.
	BeginOptimistic(ctx context.Context) bool
	// EndOptimistic ends what BeginOptimistic started and reports whether
	// the outcome may rest on a stale read: a read was served without a
	// fence and no Txn committed after it. The session's next reads are
	// fenced.
	EndOptimistic(ctx context.Context) (stale bool)
}
