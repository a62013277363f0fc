// Package ca is the room of the built-in certificate authority (issue 13),
// server side. It keeps the CA in the store, so every replica shares it,
// with the private keys sealed (AES-256-GCM) under a key file the server is
// given; it signs short-lived X.509 SVIDs whose URI SAN is a proxy's SPIFFE
// id (internal/ca/enrol); it rotates the CA with an overlapping trust
// bundle and imports an external root or intermediate; and it keeps join
// tokens, stored as SHA-256 hashes, single-use ones consumed by a store
// compare-and-swap. It verifies proofs of possession of a current SVID
// (VerifyProof), which authenticate renewals without a join token.
//
// The HTTP face is internal/ca/caapi; the wire types are internal/ca/enrol.
package ca
