// Package bolt is the room of embedded persistence: store/bolt is the
// embedded default backend of the store.Store contract, a single bbolt file
// on local disk. It needs no external service, which is why it is the
// default; an etcd backend can replace it when several replicas must share
// state.
//
// Layout of the bbolt file:
//
//	kv    key                       -> createRev(8) modRev(8) value
//	log   revision (8, big-endian)  -> the events of that revision
//	meta  "rev", "compacted"        -> revision (8, big-endian)
//
// Every writing Txn appends exactly one log entry under its new revision,
// in the same bbolt transaction as the kv writes, so the log is the
// authoritative history that Watch replays. The log keeps the last
// Options.HistoryLimit revisions; older entries are trimmed a few per commit
// and the highest trimmed revision is recorded as "compacted".
//
// Durability and throughput: a Txn returns only after bbolt has fsynced its
// commit. Concurrent Txns are grouped with bbolt's DB.Batch so that many of
// them share one fsync; a Txn that runs alone skips the batch delay.
//
// Watch delivery: after each commit the new revision's events are published
// to an in-memory ring (see hub). Each watcher owns a goroutine and a cursor
// (the last revision it delivered); it reads from the ring while the ring
// still holds its next revision and otherwise from the log bucket. Writers
// never wait for watchers, and a slow watcher catches up from disk instead
// of losing events; it fails with store.ErrCompacted only when the history
// it needs was trimmed.
//
// Damage: Open checks an existing file in full before serving from it
// (damage.go, verify.go): a plain-read preflight of the meta pages and the
// file size (a truncated file would otherwise be a bus error), then a walk
// of every record and bbolt's Tx.Check, with memory faults turned into
// errors. A damaged file, including an empty one, is a *DamagedError
// (errors.Is ErrDamaged) naming the file and the remedy; only a missing
// file starts a new store. The check costs about 80 ms warm for a 310 MB
// file of 50,000 2 KiB resources (BenchmarkOpenVerify).
//
// Event values are shared between watchers of the same revision: receivers
// must treat Event.KV.Value and Event.PrevValue as read-only.
package bolt
