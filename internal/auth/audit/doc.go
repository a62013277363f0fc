// Package audit is the audit-log room of internal/auth: one CloudTrail-shaped
// JSON record per API call (and per denied call), appended durably to
// size-rotated files in one directory, and queried back by time, principal,
// event and resource.
//
// Durability: Log.Append returns only after the record's bytes are written
// and fsynced. Concurrent appends are group-committed: one writer goroutine
// takes every record queued while the previous fsync ran, writes them with
// one write and covers them with one fsync. A write or fsync error is sticky:
// the Log then fails every later Append, so a server never acknowledges a
// call it could not audit.
//
// Crash safety: a kill -9 can leave at most the last line of the newest file
// torn, and only for a record whose Append had not returned. Open truncates
// such a tail (with a warning) before appending; Query skips any line it
// cannot decode, with a warning, and never fails on one.
//
// Secrets: Append redacts every value under a key that contains "secret",
// "password", "token" or "privatekey" (case-insensitive) in
// requestParameters and responseElements, except the App Mesh pagination and
// idempotency keys nextToken and clientToken, replacing it with CloudTrail's
// HIDDEN_DUE_TO_SECURITY_REASONS. Callers must still never put credentials
// in other fields.
//
// One Log owns a directory; two processes must not append to one directory.
// Files are named audit-<16-digit sequence>.jsonl; the highest sequence is
// the one being written.
package audit
