// Package registry is the service registry room: Cloud Map-like
// namespaces, services and instances (attributes, custom health, TTL) kept
// in the store under "registry/". A Registry follows its prefix of the store
// into an in-memory index, so Lookup (what irgen asks for EDS endpoints)
// never touches the store, and it reports which (namespace, service) pairs
// changed so that reconcile can rebuild the affected proxies. Instances
// live until they are deregistered, as in Cloud Map; only instances that
// ask for a lease (attribute AttrTTL, what the Trellis sidecar sets) are
// deleted when their heartbeats stop for longer than their TTL.
package registry
