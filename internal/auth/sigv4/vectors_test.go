package sigv4

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// The credentials and clock of AWS's published SigV4 test suite
// (aws-sig-v4-test-suite).
const (
	suiteSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
	suiteAKID   = "AKIDEXAMPLE"
)

var suiteTime = time.Date(2015, 8, 30, 12, 36, 0, 0, time.UTC)

type vector struct {
	Name          string `json:"name"`
	Request       string `json:"request"`
	Authorization string `json:"authorization"`
}

// readRequest parses raw HTTP/1.1 as a server would (Host, RequestURI and
// Content-Length moved out of Header) and returns it with its body hash.
func readRequest(t *testing.T, raw string) (*http.Request, string) {
	t.Helper()
	r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
	if err != nil {
		t.Fatalf("read request: %v", err)
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	return r, HashPayload(body)
}

// TestSuiteVectors verifies requests of AWS's SigV4 test suite with their
// published signatures, and rejects each with one signature hex digit or
// the secret changed.
func TestSuiteVectors(t *testing.T) {
	data, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var vectors []vector
	if err := json.Unmarshal(data, &vectors); err != nil {
		t.Fatal(err)
	}
	v := &Verifier{Region: "us-east-1", Now: func() time.Time { return suiteTime }}
	for _, tc := range vectors {
		t.Run(tc.Name, func(t *testing.T) {
			r, hash := readRequest(t, tc.Request)
			r.Header.Set("Authorization", tc.Authorization)
			sig, err := Parse(r)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if err := v.CheckScope(sig, "service"); err != nil {
				t.Fatalf("scope: %v", err)
			}
			if sig.AccessKeyID != suiteAKID {
				t.Fatalf("akid %q", sig.AccessKeyID)
			}
			if err := v.Verify(r, sig, suiteSecret, hash); err != nil {
				t.Fatalf("verify: %v\ncanonical:\n%s", err, CanonicalRequest(r, sig, hash))
			}
			if err := v.Verify(r, sig, suiteSecret+"x", hash); !isCode(err, CodeInvalidSignature) {
				t.Fatalf("wrong secret: got %v", err)
			}
			flipped := *sig
			flipped.Value = flipLast(sig.Value)
			if err := v.Verify(r, &flipped, suiteSecret, hash); !isCode(err, CodeInvalidSignature) {
				t.Fatalf("flipped signature: got %v", err)
			}
		})
	}
}

// TestPresignedVector is the presigned-URL example of AWS's SigV4
// documentation (S3 GET /test.txt, UNSIGNED-PAYLOAD, 24 h expiry).
func TestPresignedVector(t *testing.T) {
	raw := "GET /test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request" +
		"&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host" +
		"&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404 HTTP/1.1\r\n" +
		"Host: examplebucket.s3.amazonaws.com\r\n\r\n"
	r, hash := readRequest(t, raw)
	sig, err := Parse(r)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2013, 5, 24, 1, 0, 0, 0, time.UTC)
	v := &Verifier{Region: "us-east-1", Now: func() time.Time { return at }}
	if err := v.CheckScope(sig, "s3"); err != nil {
		t.Fatal(err)
	}
	if err := v.Verify(r, sig, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", hash); err != nil {
		t.Fatalf("verify: %v", err)
	}
	late := &Verifier{Region: "us-east-1", Now: func() time.Time { return at.Add(24 * time.Hour) }}
	if err := late.CheckScope(sig, "s3"); !isCode(err, CodeInvalidSignature) {
		t.Fatalf("expired presign: got %v", err)
	}
}

func isCode(err error, code string) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}

func flipLast(s string) string {
	if strings.HasSuffix(s, "0") {
		return s[:len(s)-1] + "1"
	}
	return s[:len(s)-1] + "0"
}
