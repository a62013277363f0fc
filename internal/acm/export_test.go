package acm

// Hooks for the external tests (fuzz_test.go).
var (
	CheckKeyPair = checkKeyPair
	CheckBundle  = checkBundle
	Decode       = decode
	MaxPEM       = maxPEM
	MaxBody      = maxBody
)
