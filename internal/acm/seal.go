package acm

import (
	"fmt"

	"github.com/trellis-mesh/trellis/internal/auth"
)

// Sealer encrypts private keys at rest. aad binds a sealed value to its
// record (the ARN), so a sealed key cannot be moved under another ARN.
type Sealer interface {
	Seal(plaintext, aad []byte) ([]byte, error)
	Open(sealed, aad []byte) ([]byte, error)
}

// authSealer is the server's AES-256-GCM sealer (internal/auth, the
// --auth-key-file key) used for ACM private keys. Its additional data is
// "acm:" and the ARN, which no access key id (the other use of the key)
// can equal.
type authSealer struct{ s *auth.Sealer }

// AuthSealer seals with the server's auth key.
func AuthSealer(s *auth.Sealer) Sealer { return authSealer{s} }

func (a authSealer) Seal(plaintext, aad []byte) ([]byte, error) {
	return a.s.Seal("acm:"+string(aad), string(plaintext)), nil
}

func (a authSealer) Open(sealed, aad []byte) ([]byte, error) {
	p, err := a.s.Open("acm:"+string(aad), sealed)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrOpen, err)
	}
	return []byte(p), nil
}

// ErrOpen is returned when a sealed value does not open with the key
// (another key file, or tampered data).
var ErrOpen = errorString("acm: sealed value does not open with this key")

type errorString string

func (e errorString) Error() string { return string(e) }
