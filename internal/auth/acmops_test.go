package auth

import (
	"net/http/httptest"
	"strings"
	"testing"
)

// TestACMOperations: the ACM stand-in's calls are trellis: actions on the
// ARN they touch.
func TestACMOperations(t *testing.T) {
	const arn = "arn:aws:acm:us-east-1:123456789012:certificate/x"
	for _, tc := range []struct {
		method, target, body string
		action, resource     string
	}{
		{"POST", "/trellis/acm/certificates", `{"arn":"` + arn + `"}`, "trellis:ImportCertificate", arn},
		{"POST", "/trellis/acm/certificate-authorities", `{"arn":"a"}`, "trellis:RegisterCertificateAuthority", "a"},
		{"GET", "/trellis/acm", "", "trellis:ListCertificates", "*"},
		{"POST", "/trellis/acm/requests", `{"arn":"` + arn + `"}`, "trellis:RequestCertificate", arn},
		{"DELETE", "/trellis/acm?arn=" + arn, "", "trellis:DeleteCertificate", arn},
		{"POST", "/trellis/acm/certificates", `not json`, "trellis:ImportCertificate", "*"},
		{"PUT", "/trellis/acm/other", "", "trellis:Unknown", "*"},
	} {
		r := httptest.NewRequest(tc.method, tc.target, strings.NewReader(tc.body))
		op := Classifier{Region: "us-east-1", AccountID: "123456789012"}.Classify(r, []byte(tc.body))
		if op.Action != tc.action || op.Resource != tc.resource {
			t.Errorf("%s %s: %s on %s, want %s on %s", tc.method, tc.target, op.Action, op.Resource, tc.action, tc.resource)
		}
	}
}
