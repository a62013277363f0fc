package acm_test

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	. "github.com/trellis-mesh/trellis/internal/acm"
	"github.com/trellis-mesh/trellis/internal/acm/acmtest"
)

// FuzzImport: the decoders of untrusted import material (the admin API's
// JSON body, the ARNs, the PEM certificate, key, chain and bundle) never
// panic, and accept only what they promise: a matching key pair, CA
// bundles of CA certificates, ARNs of the right form.
func FuzzImport(f *testing.F) {
	ca := acmtest.NewCA(f, "ca")
	cert, key := ca.Leaf(f, "svc.local")
	body, _ := json.Marshal(ImportRequest{ARN: "arn:aws:acm:us-west-2:123456789012:certificate/x",
		Certificate: string(cert), PrivateKey: string(key), Chain: string(ca.CertPEM)})
	f.Add(body)
	f.Add([]byte(`{"arn":"arn:aws:acm-pca:us-west-2:123456789012:certificate-authority/x","bundle":"-----BEGIN CERTIFICATE-----\n"}`))
	f.Add([]byte(`{"arn":"arn:aws:acm:::certificate/","certificate":"","privateKey":""}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		// The API body decoder, as the handler runs it.
		rec := httptest.NewRecorder()
		var req ImportRequest
		if Decode(rec, httptest.NewRequest("POST", PathCertificates, bytes.NewReader(b)), &req) {
			_ = CheckCertificateARN(req.ARN)
			if CheckCAARN(req.ARN) == nil && strings.Contains(req.ARN, ",") {
				t.Fatalf("CA ARN with a comma accepted: %q", req.ARN)
			}
			if _, err := CheckKeyPair([]byte(req.Certificate), []byte(req.PrivateKey), []byte(req.Chain)); err == nil && req.PrivateKey == "" {
				t.Fatal("key pair accepted without a key")
			}
			if _, err := CheckBundle([]byte(req.Certificate)); err == nil && !strings.Contains(req.Certificate, "CERTIFICATE") {
				t.Fatal("bundle accepted without a certificate")
			}
		}
		_, _ = CheckKeyPair(b, b, b)
		_, _ = CheckBundle(b)
	})
}

// TestPEMBound: a PEM document of exactly MaxPEM bytes is read, one byte
// more is refused before parsing.
func TestPEMBound(t *testing.T) {
	ca := acmtest.NewCA(t, "ca")
	pad := func(n int) []byte {
		b := bytes.Repeat([]byte("#"), n-len(ca.CertPEM)-1)
		return append(append(ca.CertPEM, b...), '\n')
	}
	if n, err := CheckBundle(pad(MaxPEM)); err != nil || n != 1 {
		t.Fatalf("bundle of MaxPEM bytes: %d %v", n, err)
	}
	if _, err := CheckBundle(pad(MaxPEM + 1)); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("bundle of MaxPEM+1 bytes: %v", err)
	}
}

// TestBodyBound: an admin API body of exactly MaxBody bytes is decoded
// (and then refused for what it holds), one byte more is refused unread.
func TestBodyBound(t *testing.T) {
	for _, tc := range []struct {
		size   int
		decode bool
	}{{MaxBody, true}, {MaxBody + 1, false}} {
		head, tail := `{"arn":"x","certificate":"`, `"}`
		body := head + strings.Repeat("a", tc.size-len(head)-len(tail)) + tail
		var req ImportRequest
		ok := Decode(httptest.NewRecorder(), httptest.NewRequest("POST", PathCertificates, strings.NewReader(body)), &req)
		if ok != tc.decode {
			t.Errorf("body of %d bytes: decoded %v, want %v", tc.size, ok, tc.decode)
		}
	}
}
