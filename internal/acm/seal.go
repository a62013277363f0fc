package acm

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Sealer encrypts secrets at rest. Seal's output carries everything Open
// needs besides the key; aad binds a sealed value to its record (the ARN),
// so a sealed key cannot be moved under another ARN.
type Sealer interface {
	Seal(plaintext, aad []byte) ([]byte, error)
	Open(sealed, aad []byte) ([]byte, error)
}

// aesGCM seals with AES-256-GCM: a random 12-byte nonce followed by the
// ciphertext and tag.
type aesGCM struct{ aead cipher.AEAD }

// NewAESGCM returns a Sealer over a 32-byte key.
func NewAESGCM(key []byte) (Sealer, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("acm: sealing key must be 32 bytes, got %d", len(key))
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("acm: sealing key: %w", err)
	}
	a, err := cipher.NewGCM(b)
	if err != nil {
		return nil, fmt.Errorf("acm: sealing key: %w", err)
	}
	return aesGCM{a}, nil
}

func (s aesGCM) Seal(plaintext, aad []byte) ([]byte, error) {
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(plaintext)+s.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("acm: nonce: %w", err)
	}
	return s.aead.Seal(nonce, nonce, plaintext, aad), nil
}

// ErrOpen is returned when a sealed value does not open with the key
// (another key, or tampered data).
var ErrOpen = errors.New("acm: sealed value does not open with this key")

func (s aesGCM) Open(sealed, aad []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n+s.aead.Overhead() {
		return nil, ErrOpen
	}
	out, err := s.aead.Open(nil, sealed[:n], sealed[n:], aad)
	if err != nil {
		return nil, ErrOpen
	}
	return out, nil
}

// LoadOrCreateKeyFile reads a base64 32-byte key from path, creating the
// file (mode 0600, random key) when it does not exist. Every replica of a
// cluster must be given the same file.
func LoadOrCreateKeyFile(path string) (Sealer, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		key := make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, fmt.Errorf("acm: new key: %w", err)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("acm: key file: %w", err)
		}
		enc := base64.StdEncoding.EncodeToString(key) + "\n"
		if err := os.WriteFile(path, []byte(enc), 0o600); err != nil {
			return nil, fmt.Errorf("acm: key file: %w", err)
		}
		return NewAESGCM(key)
	}
	if err != nil {
		return nil, fmt.Errorf("acm: key file: %w", err)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("acm: key file %s: not base64: %w", path, err)
	}
	return NewAESGCM(key)
}
