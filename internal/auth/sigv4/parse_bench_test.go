package sigv4

import (
	"testing"
	"time"
)

// BenchmarkParseInto is parsing an SDK-signed request's signature (the
// Authorization header, X-Amz-Date and the credential scope).
//
//	go test -run '^$' -bench ParseInto -benchmem ./internal/auth/sigv4/
func BenchmarkParseInto(b *testing.B) {
	r := signedRequest(&testing.T{}, "/v20190125/meshes/shop", 0, time.Now())
	for b.Loop() {
		var sig Signature
		if err := ParseInto(r, &sig); err != nil {
			b.Fatal(err)
		}
	}
}
