// Package acm is Trellis's stand-in for AWS Certificate Manager (ACM) and
// ACM Private CA: certificates imported under ACM certificate ARNs (their
// private keys sealed at rest) and CA bundles registered under ACM-PCA
// certificate authority ARNs, kept in the store so every replica shares
// them. App Mesh specs naming those ARNs in their TLS blocks then resolve
// to real certificates, which the reconciler delivers to Envoy as SDS
// secrets over the ADS stream (see docs/acm.md).
//
// Room: a sibling of registry. It reads and writes its own key range of
// the store (KeyPrefix); irgen never sees it. Store manages records,
// Secrets follows the store and resolves secret names for the
// reconciler, Register mounts the admin HTTP API the CLI talks to, and
// private keys are sealed with the server's auth key (AuthSealer).
package acm
