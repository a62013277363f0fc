// Package backup is the room of store snapshots: a consistent copy of a
// whole store.Store in a versioned, checksummed file (format.go), taken
// with one List at one revision (so it works for any backend), served
// online by the server at GET /admin/backup (handler.go), and restored
// into an empty store (Restore). It knows nothing of App Mesh: values are
// copied verbatim, which is why versions, uids, timestamps, tags and
// registry instances survive a round trip. See docs/backup.md.
package backup
