// Package meshview turns the store's stream of changes into immutable,
// indexed snapshots of every mesh, one per store revision, and tells its
// subscriber which meshes changed. Everything downstream (irgen, reconcile)
// reads snapshots, never the store, so translation sees one consistent
// revision and never blocks writers.
package meshview
