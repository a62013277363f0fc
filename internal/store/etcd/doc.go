// Package etcd is the etcd v3 backend of the store contract
// (internal/store), for running several Trellis replicas on one etcd
// cluster. It passes the same storetest conformance suite as the bbolt
// backend.
//
// Store revisions are etcd revisions: a KV's CreateRevision and
// ModRevision are etcd's, a Txn returns the etcd header revision of its
// commit, and Watch resumes from an etcd revision. There is no second
// versioning scheme. Every key lives under a configurable prefix
// (Options.Prefix), so several stores (or other applications) can share
// one cluster; the prefix is invisible to callers. Revisions are
// cluster-wide, so writes outside the prefix also advance them.
//
// Watches are lossless: when the client's stream to a member breaks (the
// member died, was cut off or lost its leader), the watch is reopened from
// the last revision delivered, and etcd's compaction surfaces as
// store.ErrCompacted exactly as the contract says. Compaction itself is
// etcd's business (its --auto-compaction flags, or Store.Compact).
//
// With Options.ReadCache, Get, List and Count are answered from an
// in-memory copy of the prefix once it has applied a fence: the revision
// of a linearizable etcd read that started after the call (readcache.go).
// Concurrent reads share fences, and the reads of one read session
// (WithReadSession, one API request) share one, so reads stay
// linearizable while costing etcd far fewer requests. A writer whose
// reads are all checked by its Txn's comparisons may skip the fence
// (store.OptimisticReads, session.go); the manager's writes do.
//
// With the read cache, Watch is served from the cache's own etcd watch
// too: the cache keeps its recent events in a bounded log
// (sharedwatch.go), so a replica's stages (mesh view, history, registry,
// ...) cost etcd one watch, not one each with previous values. A watch
// whose cursor the log does not cover (older than it, or evicted because
// its receiver fell behind) reads etcd with a watch of its own until it
// catches up, so the contract's losslessness and ErrCompacted are kept.
package etcd
