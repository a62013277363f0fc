package acm

import "time"

// Hooks for the external tests (fuzz_test.go).
var (
	CheckKeyPair = checkKeyPair
	CheckBundle  = checkBundle
	Decode       = decode
	MaxPEM       = maxPEM
	MaxBody      = maxBody
)

// SetNow sets the Store's clock.
func SetNow(s *Store, now func() time.Time) { s.now = now }
