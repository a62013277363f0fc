package ca

import (
	"testing"

	"github.com/trellis-mesh/trellis/internal/ca/enrol"
)

// FuzzParseCSR: any input is refused or yields an id in the trust domain.
func FuzzParseCSR(f *testing.F) {
	good, _ := csrFor(f, nodeURI)
	f.Add(good)
	f.Add([]byte("-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		_, id, err := ParseCSR(b, "trellis.local")
		if err != nil {
			return
		}
		if id.TrustDomain != "trellis.local" {
			t.Fatalf("accepted foreign trust domain %q", id.TrustDomain)
		}
		if back, err := enrol.ParseID(id.String()); err != nil || back != id {
			t.Fatalf("id %v does not round-trip: %v", id, err)
		}
	})
}

// FuzzParseToken: a parsed token re-encodes to its input.
func FuzzParseToken(f *testing.F) {
	f.Add("trellis-jt1.AAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	f.Add("trellis-jt1..")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		id, secret, err := ParseToken(s)
		if err != nil {
			return
		}
		if len(secret) != tokenSecretBytes || len(id) != 12 {
			t.Fatalf("bad parts of %q", s)
		}
	})
}
