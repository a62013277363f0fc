// Package store is the room of persistence: a schema-agnostic, versioned
// key-value contract (Get, List, Txn with compare-and-swap, Watch from a
// revision) that every backend implements. store/bolt is the embedded
// default; store/storetest is the conformance suite every backend must pass.
//
// The contract is deliberately the shape of etcd's KV API so that an etcd
// backend is a thin adapter: store-wide revisions, multi-key transactions
// guarded by revision comparisons, and watches that resume from a revision.
// OptimisticReads is an optional extra for backends whose linearizable
// reads wait on a fence (etcd's read cache): writers whose reads their
// transaction's comparisons check may skip that wait.
package store
