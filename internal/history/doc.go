// Package history is the room of resource version history: a Recorder
// follows the store's watch from the oldest revision the store still
// retains and keeps, per App Mesh resource (by ARN), its last N versions
// (spec and metadata) in memory. It also serves them as JSON and streams
// "something changed" events over SSE for the web console.
//
// The history comes from the store's own event log (store.Watch from
// revision 0), so every replica that reads the same store shows the same
// history; it reaches back as far as the backend retains revisions
// (bolt: Options.HistoryLimit, etcd: its compaction). Nothing is written
// back to the store.
package history
