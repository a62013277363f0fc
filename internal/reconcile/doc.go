// Package reconcile is the only glue between translation and serving: when
// the mesh changes or a proxy connects, it decides which proxies are
// affected, translates each (irgen → xdsgen), and publishes the result to
// the xDS server. A translation that fails keeps the proxy's last good
// configuration and is reported; an unchanged result is not republished,
// so proxies untouched by a change see no push at all.
//
// A proxy whose virtual node or gateway has never existed gets nothing at
// all (no snapshot, so no response to ACK) until the node is created: its
// Envoy stays INITIALIZING and its sidecar not ready, rather than LIVE with
// an empty configuration.
//
// Node connects and disconnects are read, not queued: the xDS server marks
// the node keys that changed and reconcile reads each one's current state
// (nodes.go), so no burst can lose one. The proxies that connected since
// the last look are built together in one batch sharing translation
// (build.go); a mesh change rebuilds the proxies of the changed meshes.
// Reconcile talks to the xDS server through the XDS interface, which the
// tests fake. Run owns its goroutines (errgroup) and returns the error of
// a stage that died.
package reconcile
