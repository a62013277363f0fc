package sigv4

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/textproto"
	"testing"
)

// TestURIEncode covers the no-copy path (nothing to encode) and the
// encoding path, with and without keeping '/'.
func TestURIEncode(t *testing.T) {
	for _, tc := range []struct {
		in        string
		keepSlash bool
		want      string
	}{
		{"", true, ""},
		{"/v20190125/meshes/shop", true, "/v20190125/meshes/shop"},
		{"/v20190125/meshes/shop", false, "%2Fv20190125%2Fmeshes%2Fshop"},
		{"AZaz09-_.~", false, "AZaz09-_.~"},
		{"/a b", true, "/a%20b"},
		{"/meshes/%2F", true, "/meshes/%252F"},
		{"ü", false, "%C3%BC"},
		{"abc*", false, "abc%2A"},
	} {
		if got := uriEncode(tc.in, tc.keepSlash); got != tc.want {
			t.Errorf("uriEncode(%q, %v) = %q, want %q", tc.in, tc.keepSlash, got, tc.want)
		}
	}
}

// TestHeaderValue: one value or several, spaces trimmed and collapsed.
func TestHeaderValue(t *testing.T) {
	r, _ := http.NewRequest(http.MethodGet, "http://h.example/", nil)
	r.Header.Add("X-One", "  a   b  ")
	r.Header.Add("X-Two", "a")
	r.Header.Add("X-Two", " b  c ")
	for name, want := range map[string]string{"x-one": "a b", "x-two": "a,b c", "x-none": "", "host": "h.example"} {
		if got := string(appendHeaderValue(nil, r, name)); got != want {
			t.Errorf("appendHeaderValue(%s) = %q, want %q", name, got, want)
		}
	}
}

// TestHashPayloadEmpty: the constant equals the computed hash.
func TestHashPayloadEmpty(t *testing.T) {
	sum := sha256.Sum256(nil)
	if hex.EncodeToString(sum[:]) != EmptyPayloadHash || HashPayload(nil) != EmptyPayloadHash {
		t.Fatalf("EmptyPayloadHash is not the SHA-256 of nothing")
	}
	if got := HashPayload([]byte("x")); got == EmptyPayloadHash || len(got) != 64 {
		t.Fatalf("HashPayload(x) = %s", got)
	}
}

// TestCanonicalHeaderKey: the table of signed header names gives what
// textproto would.
func TestCanonicalHeaderKey(t *testing.T) {
	for _, name := range []string{"x-amz-date", "x-amz-content-sha256", "x-amz-security-token", "x-amz-user-agent",
		"x-amz-target", "amz-sdk-invocation-id", "amz-sdk-request", "content-type", "content-md5", "user-agent", "x-custom"} {
		if got, want := canonicalHeaderKey(name), textproto.CanonicalMIMEHeaderKey(name); got != want {
			t.Errorf("canonicalHeaderKey(%q) = %q, want %q", name, got, want)
		}
	}
}
