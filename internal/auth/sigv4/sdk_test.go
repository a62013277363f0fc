package sigv4

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

const (
	testAKID   = "AKIATRELLISTEST00001"
	testSecret = "trellis/test+secret/0123456789abcdefghij"
)

// verifyingServer answers 204 when the request verifies, else the error
// code in X-Amzn-ErrorType with its status.
func verifyingServer(t *testing.T, v *Verifier) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		err := func() error {
			sig, err := Parse(r)
			if err != nil {
				return err
			}
			if err := v.CheckScope(sig, "appmesh", "servicediscovery"); err != nil {
				return err
			}
			return v.Verify(r, sig, testSecret, HashPayload(body))
		}()
		if err != nil {
			e := err.(*Error)
			w.Header().Set("X-Amzn-ErrorType", e.Code)
			w.WriteHeader(e.Status)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestSDKSigner signs requests with aws-sdk-go-v2's v4 signer, both forms,
// over paths, queries and headers that exercise every canonicalisation
// rule, and checks the verifier's verdict over a real HTTP round trip.
func TestSDKSigner(t *testing.T) {
	now := time.Now()
	v := &Verifier{Region: "us-west-2"}
	srv := verifyingServer(t, v)
	tests := []struct {
		name, method, path, query, body string
		header                          map[string]string
		secret, region, service         string
		at                              time.Time
		presign                         bool
		want                            string // "" verifies
	}{
		{name: "describe", method: "GET", path: "/v20190125/meshes/shop"},
		{name: "name with encoded slash and space", method: "GET", path: "/v20190125/meshes/a%2Fb%20c/virtualNodes/x~y"},
		{name: "repeated and encoded query", method: "GET", path: "/v20190125/meshes", query: "limit=5&b=2&b=1&a=x%2By&sp=a+b&empty=&tilde=~&star=%2A"},
		{name: "put with body", method: "PUT", path: "/v20190125/meshes", body: `{"meshName":"shop","clientToken":"t"}`,
			header: map[string]string{"Content-Type": "application/json", "X-Custom": "  a   b  "}},
		{name: "cloud map post", method: "POST", path: "/", service: "servicediscovery", body: `{"Name":"ns"}`,
			header: map[string]string{"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "Route53AutoNaming_v20170314.ListNamespaces"}},
		{name: "presigned", method: "GET", path: "/v20190125/meshes/shop", query: "x=1", presign: true},
		{name: "presigned with body", method: "PUT", path: "/v20190125/meshes/shop", body: "{}", presign: true},
		{name: "wrong secret", method: "GET", path: "/v20190125/meshes", secret: "nope", want: CodeInvalidSignature},
		{name: "other region", method: "GET", path: "/v20190125/meshes", region: "eu-west-1", want: CodeInvalidSignature},
		{name: "other service", method: "GET", path: "/v20190125/meshes", service: "s3", want: CodeInvalidSignature},
		{name: "clock 6 min behind", method: "GET", path: "/v20190125/meshes", at: now.Add(-6 * time.Minute), want: CodeSkewed},
		{name: "clock 6 min ahead", method: "GET", path: "/v20190125/meshes", at: now.Add(6 * time.Minute), want: CodeSkewed},
		{name: "clock 4 min behind", method: "GET", path: "/v20190125/meshes", at: now.Add(-4 * time.Minute)},
		{name: "presigned expired", method: "GET", path: "/v20190125/meshes", at: now.Add(-2 * time.Hour), presign: true, want: CodeInvalidSignature},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			secret, region, service, at := or(tc.secret, testSecret), or(tc.region, "us-west-2"), or(tc.service, "appmesh"), tc.at
			if at.IsZero() {
				at = now
			}
			u := srv.URL + tc.path
			if tc.query != "" {
				u += "?" + tc.query
			}
			req, err := http.NewRequest(tc.method, u, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			for k, val := range tc.header {
				req.Header.Set(k, val)
			}
			// A signer per case: the SDK caches derived keys by access key id.
			signer := v4.NewSigner()
			creds := aws.Credentials{AccessKeyID: testAKID, SecretAccessKey: secret}
			hash := HashPayload([]byte(tc.body))
			if tc.presign {
				q := req.URL.Query()
				q.Set("X-Amz-Expires", "3600")
				req.URL.RawQuery = q.Encode()
				signed, _, err := signer.PresignHTTP(context.Background(), creds, req, hash, service, region, at)
				if err != nil {
					t.Fatal(err)
				}
				req.URL, _ = req.URL.Parse(signed)
			} else if err := signer.SignHTTP(context.Background(), creds, req, hash, service, region, at); err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			got := resp.Header.Get("X-Amzn-ErrorType")
			if got != tc.want {
				t.Fatalf("status %d, error %q, want %q", resp.StatusCode, got, tc.want)
			}
		})
	}
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
