// Package storetest is the room of the store contract's conformance suite:
// every store.Store backend runs Run from its own tests and must pass it,
// so that callers can rely on the contract rather than on one backend.
//
// The suite checks behaviour only through the store.Store interface. It is
// written to be quick (no sleeps on the happy path) and to be run under
// -race: the concurrency subtests are the ones that find missing locking.
package storetest
