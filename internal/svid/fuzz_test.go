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

// FuzzParseBundleResponse: the bundle answer is untrusted input; parsing
// must never panic, and what it accepts holds only CA certificates.
func FuzzParseBundleResponse(f *testing.F) {
	f.Add([]byte(`{"trustDomain":"trellis.local","trustBundle":""}`))
	f.Add([]byte(`{"trustDomain":"trellis.local","trustBundle":"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		out, err := parseBundleResponse(b, "trellis.local")
		if err != nil {
			return
		}
		certs, err := parseCerts(out)
		if err != nil {
			t.Fatalf("accepted bundle does not parse: %v", err)
		}
		for _, c := range certs {
			if !c.IsCA {
				t.Fatal("accepted a non-CA certificate")
			}
		}
	})
}
