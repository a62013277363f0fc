package svid

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"testing"

	"github.com/trellis-mesh/trellis/internal/ca/enrol"
)

// FuzzParseSignResponse: the CA's answer is untrusted input; parsing must
// never panic, and never accept a chain for another key.
func FuzzParseSignResponse(f *testing.F) {
	f.Add("", "")
	f.Add("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", "-----BEGIN X-----\n-----END X-----\n")
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	id := nodeID("demo", "front")
	f.Fuzz(func(t *testing.T, chain, bundle string) {
		if _, err := parseSignResponse(enrol.SignResponse{CertificateChain: chain, TrustBundle: bundle}, id, key); err == nil {
			t.Fatal("accepted a chain for a key the fuzzer cannot know")
		}
	})
}
