// Package ir is the intermediate representation between App Mesh meaning
// and Envoy configuration: one *Proxy per connected Envoy, in neutral terms
// (listeners, filter chains, route tables, clusters, endpoints, TLS).
//
// irgen builds it from the mesh; xdsgen turns it into Envoy protos. It
// imports nothing of the project, so neither side can leak into the other.
// Every type carries JSON tags so a Proxy dumps into readable golden files,
// and every list is kept in a deterministic order by its producer.
package ir
