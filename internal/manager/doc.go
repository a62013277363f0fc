// Package manager is the room of App Mesh semantics over the store: it gives
// resources their uid, version, timestamps and ARNs; serialises writers with
// optimistic concurrency (store compare-and-swap, retried on conflict);
// enforces references between resources (parents must exist, referenced
// resources cannot be deleted, children block deletion of their parents);
// makes Create/Update idempotent by clientToken; enforces quotas and tags.
//
// Every write is one store transaction guarded by comparisons on everything
// it read, so a failed write changes nothing and concurrent writers never
// interleave (see txn.go). Errors are *Error values carrying App Mesh error
// codes, which the apiserver sends as they are.
package manager
