package sigv4

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// signedRequest signs a GET with the SDK's signer; extra adds headers
// (signed too: the SDK signs every header it does not exclude).
func signedRequest(t *testing.T, path string, extra int, at time.Time) *http.Request {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, path, nil)
	for i := range extra {
		r.Header.Set(fmt.Sprintf("X-Extra-%02d", i), fmt.Sprintf("v%d", i))
	}
	creds := aws.Credentials{AccessKeyID: testAKID, SecretAccessKey: testSecret}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, EmptyPayloadHash, "appmesh", "us-west-2", at); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestKeyReuse: one Key verifies many requests, in turn and at once, and a
// failed verification leaves no state behind for the next (pooled HMACs
// are reset), and requests with more signed headers than the Signature
// keeps inline still verify.
func TestKeyReuse(t *testing.T) {
	now := time.Now()
	v := &Verifier{Region: "us-west-2", Now: func() time.Time { return now }}
	key := DeriveKey(testSecret, now.UTC().Format("20060102"), "us-west-2", "appmesh")
	tests := []struct {
		name   string
		path   string
		extra  int
		tamper bool
		ok     bool
	}{
		{name: "describe", path: "/v20190125/meshes/shop", ok: true},
		{name: "tampered", path: "/v20190125/meshes/shop", tamper: true},
		{name: "after a failure", path: "/v20190125/meshes/shop/virtualNodes/a", ok: true},
		{name: "8 extra signed headers (spills)", path: "/v20190125/meshes", extra: 8, ok: true},
		{name: "tampered, spilled", path: "/v20190125/meshes", extra: 8, tamper: true},
		{name: "again", path: "/v20190125/meshes/shop", ok: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := signedRequest(t, tc.path, tc.extra, now)
			if tc.tamper {
				r.URL.Path += "x"
				r.RequestURI += "x"
			}
			var sig Signature
			if err := ParseInto(r, &sig); err != nil {
				t.Fatal(err)
			}
			if got := len(sig.SignedHeaders); got < 2+tc.extra {
				t.Fatalf("%d signed headers, want at least %d", got, 2+tc.extra)
			}
			err := v.VerifyWithKey(r, &sig, key, EmptyPayloadHash)
			if (err == nil) != tc.ok {
				t.Fatalf("verify: %v, want ok=%v", err, tc.ok)
			}
			if err2 := v.Verify(r, &sig, testSecret, EmptyPayloadHash); (err2 == nil) != (err == nil) {
				t.Fatalf("Verify with the secret: %v, with the key: %v", err2, err)
			}
		})
	}
	t.Run("concurrent", func(t *testing.T) {
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Go(func() {
				for i := range 50 {
					r := signedRequest(t, fmt.Sprintf("/v20190125/meshes/m%d-%d", g, i), i%10, now)
					tampered := i%3 == 0
					if tampered { // change the signature's last hex digit
						a := r.Header.Get("Authorization")
						last := byte('0')
						if a[len(a)-1] == last {
							last = '1'
						}
						r.Header.Set("Authorization", a[:len(a)-1]+string(last))
					}
					sig, err := Parse(r)
					if err != nil {
						t.Error(err)
						return
					}
					if err := v.VerifyWithKey(r, sig, key, EmptyPayloadHash); (err != nil) != tampered {
						t.Errorf("request %d/%d (tampered %v): %v", g, i, tampered, err)
					}
				}
			})
		}
		wg.Wait()
	})
}
