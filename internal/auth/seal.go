package auth

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
)

// Sealer encrypts access-key secrets at rest with AES-256-GCM. The access
// key id is the additional data, so a sealed secret cannot be moved to
// another key's record. It is immutable and safe for concurrent use.
type Sealer struct {
	aead cipher.AEAD
}

// NewSealer returns a Sealer over a 32-byte key.
func NewSealer(key []byte) (*Sealer, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("auth key must be 32 bytes, got %d", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("auth key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("auth key: %w", err)
	}
	return &Sealer{aead: aead}, nil
}

// LoadOrCreateKeyFile reads the hex key in path, or creates the file with a
// fresh random key (mode 0600) when it does not exist. It reports whether
// it created the file. Every replica sharing a store must be given the
// same file.
func LoadOrCreateKeyFile(path string) (*Sealer, bool, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		key := make([]byte, 32)
		rand.Read(key)
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, false, fmt.Errorf("create auth key file: %w", err)
		}
		_, werr := f.WriteString(hex.EncodeToString(key) + "\n")
		if err := errors.Join(werr, f.Sync(), f.Close()); err != nil {
			return nil, false, fmt.Errorf("write auth key file: %w", err)
		}
		s, err := NewSealer(key)
		return s, true, err
	}
	if err != nil {
		return nil, false, fmt.Errorf("read auth key file: %w", err)
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		return nil, false, fmt.Errorf("auth key file %s is readable by others (mode %v); chmod 600 it", path, fi.Mode().Perm())
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(data)))
	if err != nil {
		return nil, false, fmt.Errorf("auth key file %s: want 64 hex digits: %w", path, err)
	}
	s, err := NewSealer(key)
	return s, false, err
}

// Seal encrypts secret for the access key id: nonce || ciphertext.
func (s *Sealer) Seal(akid, secret string) []byte {
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(secret)+s.aead.Overhead())
	rand.Read(nonce)
	return s.aead.Seal(nonce, nonce, []byte(secret), []byte(akid))
}

// Open decrypts what Seal returned for the same access key id.
func (s *Sealer) Open(akid string, sealed []byte) (string, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n {
		return "", errors.New("sealed secret too short")
	}
	plain, err := s.aead.Open(nil, sealed[:n], sealed[n:], []byte(akid))
	if err != nil {
		return "", fmt.Errorf("decrypt secret of %s (wrong --auth-key-file?): %w", akid, err)
	}
	return string(plain), nil
}
