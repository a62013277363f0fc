// Package xdsgen is the room that turns one proxy's intermediate
// representation (*ir.Proxy) into Envoy v3 resources: listeners, route
// configurations, clusters and cluster load assignments.
//
// It knows Envoy and nothing of App Mesh: every App Mesh decision was taken
// by irgen before the IR reached this package, so the mapping here is
// mechanical. Files are named for the Envoy concept they build.
//
// Two properties matter to callers:
//
//   - Output is validated before it is returned: every proto passes
//     protoc-gen-validate (ValidateAll), and cross-references are closed
//     (RDS names, clusters named by routes and TCP proxies, EDS load
//     assignments), so a snapshot built from it is consistent and Envoy
//     does not NACK it for a reason we could have seen.
//   - Output is deterministic: the same IR yields byte-identical protos,
//     so snapshot versions only change when configuration does.
//
// Work done on immutable inputs (typed configs found valid, virtual hosts
// built, listener references) is remembered in a Memo the caller owns and
// passes to Memo.Translate (memo.go); the package holds no mutable state.
//
// Every extension carries a typed_config, because App Mesh bootstraps set
// envoy.reloadable_features.no_extension_lookup_by_name and Envoy then
// rejects name-only extension references.
package xdsgen
