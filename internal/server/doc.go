// Package server is the wiring room: it opens the store, builds the manager
// and the API server, serves them, and shuts everything down in order on
// cancellation (stop accepting, finish in-flight requests, close the store).
// A background stage (mesh view, reconcile, registry, xDS) that dies stops
// the server with its error (stages.go; Failed, Run).
// Nothing imports it but cmd/trellis and tests.
package server
