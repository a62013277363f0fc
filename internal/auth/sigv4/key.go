package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"hash"
	"sync"
)

// Key is one scope's derived signing key together with HMAC-SHA256 states
// keyed by it, which verifications under the key reuse: a verification
// then allocates no HMAC and hashes neither key pad again (a reset HMAC
// restores its keyed state). A Key is immutable apart from its pool and is
// safe for concurrent use. The pool is a sync.Pool: it holds at most about
// as many states as verifications ran at once under this key, and the
// garbage collector empties it; it needs no bound or metric of its own.
// Its owner is whoever derived the key (the auth mirror keeps one per
// access key and scope).
type Key struct {
	raw  []byte
	macs sync.Pool // of *macState, each with hmac.New(sha256.New, raw)
}

// NewKey wraps a derived signing key (see SigningKey).
func NewKey(raw []byte) *Key {
	k := &Key{raw: raw}
	k.macs.New = func() any { return &macState{h: hmac.New(sha256.New, k.raw)} }
	return k
}

// DeriveKey is NewKey(SigningKey(secret, date, region, service)).
func DeriveKey(secret, date, region, service string) *Key {
	return NewKey(SigningKey(secret, date, region, service))
}

// Bytes is the signing key itself; callers must not modify it.
func (k *Key) Bytes() []byte { return k.raw }

// macState is one pooled HMAC with the buffers a verification writes, so
// nothing passed to the hash (an interface) escapes per request.
type macState struct {
	h   hash.Hash
	sts [256]byte
	out [sha256.Size]byte
}

// matches reports whether sig.Value is the hex HMAC of the string to sign
// for the canonical request's SHA-256, comparing in constant time.
func (k *Key) matches(sig *Signature, canonicalSum [sha256.Size]byte) bool {
	m := k.macs.Get().(*macState)
	m.h.Reset() // the keyed state; the first Reset also saves it for later ones
	m.h.Write(appendStringToSign(m.sts[:0], sig, canonicalSum))
	ok := hexEqual(m.h.Sum(m.out[:0]), sig.Value)
	k.macs.Put(m)
	return ok
}
