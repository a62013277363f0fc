// Package auth is the room of who may call the API: SigV4 authentication
// (subpackage sigv4), principals and access keys kept in the store with
// secrets encrypted at rest, the HTTP middleware the server puts in front of
// every API handler, the admin API that manages keys and policies, and the
// hooks through which IAM-style policy evaluation (auth/policy) and the
// audit log (auth/audit) are called. The manager never sees a request: this
// package authenticates and authorizes before a handler runs.
package auth
