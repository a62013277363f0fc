// Package election decides which replica does the work that must happen
// once, not once per replica: today the registry's TTL expiry sweep.
//
// With etcd (Etcd) replicas campaign with go.etcd.io/etcd/client/v3/
// concurrency on a session lease: exactly one holds leadership at a time,
// and when it stops, dies or is cut off from etcd its lease expires
// (Options.TTL) and another takes over. With the embedded bbolt store
// there is one replica, and Local is always the leader.
//
// Leadership is advisory between the moment a leader's lease expires on
// the etcd side and the moment the old leader notices (at most about one
// TTL): work run under it must stay safe when two replicas briefly both
// run it, as the registry's sweep is (each deletion compares the
// instance's revision).
package election
