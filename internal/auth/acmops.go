package auth

import (
	"encoding/json"
	"net/http"
)

// acmPathPrefix starts the ACM stand-in's admin API (internal/acm).
const acmPathPrefix = "/trellis/acm"

// acmOperation names the ACM stand-in's calls as trellis: actions on the
// certificate or CA ARN they touch: ImportCertificate,
// RegisterCertificateAuthority, RequestCertificate, DeleteCertificate
// (resource: the ARN), and
// ListCertificates ("*"). They are signed like App Mesh calls.
func acmOperation(r *http.Request, body []byte) Operation {
	var b struct {
		ARN string `json:"arn"`
	}
	_ = json.Unmarshal(body, &b)
	name, res := "Unknown", "*"
	switch {
	case r.Method == http.MethodPost && r.URL.Path == acmPathPrefix+"/certificates":
		name, res = "ImportCertificate", or(b.ARN, "*")
	case r.Method == http.MethodPost && r.URL.Path == acmPathPrefix+"/certificate-authorities":
		name, res = "RegisterCertificateAuthority", or(b.ARN, "*")
	case r.Method == http.MethodPost && r.URL.Path == acmPathPrefix+"/requests":
		name, res = "RequestCertificate", or(b.ARN, "*")
	case r.Method == http.MethodGet && r.URL.Path == acmPathPrefix:
		name = "ListCertificates"
	case r.Method == http.MethodDelete && r.URL.Path == acmPathPrefix:
		name, res = "DeleteCertificate", or(r.URL.Query().Get("arn"), "*")
	}
	return op(ServiceTrellis, name, res, "trellis.amazonaws.com")
}
