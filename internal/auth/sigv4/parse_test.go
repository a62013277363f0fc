package sigv4

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestParseErrors: each malformed signature gets the AWS code SDKs expect.
func TestParseErrors(t *testing.T) {
	const good = "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/appmesh/aws4_request, SignedHeaders=host;x-amz-date, Signature=abcd"
	tests := []struct {
		name, auth, date, query, want string
	}{
		{name: "unsigned", want: CodeMissingToken},
		{name: "good", auth: good, date: "20260101T000000Z"},
		{name: "other algorithm", auth: "AWS4-HMAC-SHA512 Credential=x", date: "20260101T000000Z", want: CodeIncomplete},
		{name: "no signature", auth: "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/appmesh/aws4_request, SignedHeaders=host", date: "20260101T000000Z", want: CodeIncomplete},
		{name: "short credential", auth: "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1, SignedHeaders=host, Signature=ab", date: "20260101T000000Z", want: CodeIncomplete},
		{name: "unsorted headers", auth: "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/appmesh/aws4_request, SignedHeaders=x-amz-date;host, Signature=ab", date: "20260101T000000Z", want: CodeIncomplete},
		{name: "host unsigned", auth: "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/appmesh/aws4_request, SignedHeaders=x-amz-date, Signature=ab", date: "20260101T000000Z", want: CodeIncomplete},
		{name: "no date", auth: good, want: CodeIncomplete},
		{name: "bad date", auth: good, date: "2026-01-01", want: CodeIncomplete},
		{name: "scope date differs", auth: good, date: "20260102T000000Z", want: CodeInvalidSignature},
		{name: "duplicate component", auth: good + ", Signature=ef", date: "20260101T000000Z", want: CodeIncomplete},
		{name: "presign missing expires", query: "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=A%2F20260101%2Fr%2Fs%2Faws4_request&X-Amz-Date=20260101T000000Z&X-Amz-SignedHeaders=host&X-Amz-Signature=ab", want: CodeIncomplete},
		{name: "presign expiry too long", query: "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=A%2F20260101%2Fr%2Fs%2Faws4_request&X-Amz-Date=20260101T000000Z&X-Amz-Expires=604801&X-Amz-SignedHeaders=host&X-Amz-Signature=ab", want: CodeIncomplete},
		{name: "presign ok", query: "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=A%2F20260101%2Fr%2Fs%2Faws4_request&X-Amz-Date=20260101T000000Z&X-Amz-Expires=604800&X-Amz-SignedHeaders=host&X-Amz-Signature=ab"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/v20190125/meshes?"+tc.query, nil)
			if tc.auth != "" {
				r.Header.Set("Authorization", tc.auth)
			}
			if tc.date != "" {
				r.Header.Set("X-Amz-Date", tc.date)
			}
			_, err := Parse(r)
			if tc.want == "" && err != nil || tc.want != "" && !isCode(err, tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}

// FuzzParse feeds arbitrary Authorization headers, dates and queries to
// the parser and, when they parse, to the verifier: neither may panic.
func FuzzParse(f *testing.F) {
	f.Add("AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/appmesh/aws4_request, SignedHeaders=host;x-amz-date, Signature=abcd", "20260101T000000Z", "a=1&b=%2F")
	f.Add("", "", "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=A%2F20260101%2Fr%2Fs%2Faws4_request&X-Amz-Date=20260101T000000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=ab")
	f.Add("AWS4-HMAC-SHA256 ,,==", "x", "%zz=&&=")
	v := &Verifier{Region: "us-east-1", Now: func() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }}
	f.Fuzz(func(t *testing.T, auth, date, query string) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.URL.RawQuery = query
		r.Header.Set("Authorization", auth)
		r.Header.Set("X-Amz-Date", date)
		sig, err := Parse(r)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		_ = v.CheckScope(sig, sig.Service)
		_ = v.Verify(r, sig, "secret", EmptyPayloadHash)
	})
}
