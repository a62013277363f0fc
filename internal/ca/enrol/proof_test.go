package enrol

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"strings"
	"testing"
	"time"
)

func TestProofHeaderRoundTrip(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p, err := MakeProof(key, []byte("chain"), ProofBundle, []byte("spiffe://x/y"), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	h, err := EncodeProofHeader(p)
	if err != nil {
		t.Fatal(err)
	}
	back, err := DecodeProofHeader(h)
	if err != nil || *back != *p {
		t.Fatalf("round trip: %+v, %v; want %+v", back, err, p)
	}
	for _, tc := range []struct {
		name, v string
	}{
		{"not base64", "!!"},
		{"not JSON", "bm90"},
		{"missing fields", "e30"}, // {}
		{"over bound", strings.Repeat("A", maxProofHeader+1)},
	} {
		if _, err := DecodeProofHeader(tc.v); err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
}

// FuzzDecodeProofHeader: a decoded proof has every field and re-encodes
// to a header that decodes to the same proof.
func FuzzDecodeProofHeader(f *testing.F) {
	good, _ := EncodeProofHeader(&Proof{CertificateChain: "c", Timestamp: "2026-01-01T00:00:00Z", Signature: "AA=="})
	f.Add(good)
	f.Add("e30")
	f.Add("")
	f.Fuzz(func(t *testing.T, v string) {
		p, err := DecodeProofHeader(v)
		if err != nil {
			return
		}
		if p.CertificateChain == "" || p.Timestamp == "" || p.Signature == "" {
			t.Fatalf("accepted a proof with empty fields: %+v", p)
		}
		h, err := EncodeProofHeader(p)
		if err != nil {
			t.Fatal(err)
		}
		back, err := DecodeProofHeader(h)
		if err != nil || *back != *p {
			t.Fatalf("re-encoded proof does not round-trip: %+v, %v", back, err)
		}
	})
}
