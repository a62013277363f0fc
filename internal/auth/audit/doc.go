// Package audit is the audit-log room of internal/auth: one CloudTrail-shaped
// JSON record per API call (and per denied call), appended durably to
// size-rotated files in one directory, and queried back by time, principal,
// event and resource.
//
// Durability: Log.Append returns only after the record's bytes are written
// and made durable with fdatasync (data and file size). Concurrent appends
// are group-committed without a writer goroutine: the caller that finds no
// commit in progress leads one, taking every record queued so far, writing
// them with one write and covering them with one fdatasync; it then answers
// the others and hands the leader's role to the first record queued during
// its commit. Under load (the previous commit covered more than one
// record) the leader first waits, at most Options.CommitDelay (200 µs by
// default) or until 64 records are queued, so that one sync covers more
// records; a lone caller never waits. A write or sync error is sticky: the
// Log then fails every later Append, so a server never acknowledges a call
// it could not audit.
//
// Encoding: records are written by a reflection-free encoder into pooled
// buffers, byte for byte what encoding/json writes for Record (a test and
// FuzzEncodeRecord compare the two); values it does not handle exactly take
// the encoding/json path.
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
