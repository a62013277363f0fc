// Package meshview turns the store's stream of changes into immutable,
// indexed snapshots of every mesh, one per store revision (or per batch of
// watch responses already queued), and tells its subscriber which meshes
// changed. A snapshot shares what did not change with the previous one: a
// mesh's resources of a kind are an Index whose shards are copied on
// write, so a write costs O(mesh/64), not O(mesh). Everything downstream (irgen, reconcile)
// reads snapshots, never the store, so translation sees one consistent
// revision and never blocks writers.
package meshview
