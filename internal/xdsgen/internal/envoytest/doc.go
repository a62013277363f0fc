// Package envoytest runs the real Envoy binary against configuration in
// tests: the proof that Envoy itself, not only our reading of its protos,
// accepts what xdsgen and bootstrap produce. It is test support for the
// xdsgen room and is not imported by production code.
package envoytest
