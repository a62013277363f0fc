package sigv4

import (
	"testing"
	"time"
)

// BenchmarkVerifyWithKey is verifying an SDK-signed request's signature
// with its cached signing key: canonical request, string to sign, HMAC.
//
//	go test -run '^$' -bench VerifyWithKey -benchmem ./internal/auth/sigv4/
func BenchmarkVerifyWithKey(b *testing.B) {
	now := time.Now()
	r := signedRequest(&testing.T{}, "/v20190125/meshes/shop", 0, now)
	v := &Verifier{Region: "us-west-2"}
	sig, err := Parse(r)
	if err != nil {
		b.Fatal(err)
	}
	key := DeriveKey(testSecret, sig.Date, sig.Region, sig.Service)
	for b.Loop() {
		if err := v.VerifyWithKey(r, sig, key, EmptyPayloadHash); err != nil {
			b.Fatal(err)
		}
	}
}
