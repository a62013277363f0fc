package enrol

import "time"

// API paths on the API port.
const (
	// SignPath signs a CSR (SignRequest → SignResponse).
	SignPath = "/v1/ca/sign"
	// BundlePath returns the trust bundle (BundleResponse).
	BundlePath = "/v1/ca/bundle"
	// AdminCAPath shows the CA (GET → CAInfo).
	AdminCAPath = "/v1/admin/ca"
	// AdminRotatePath rotates the CA (POST RotateRequest → CAInfo).
	AdminRotatePath = "/v1/admin/ca/rotate"
	// AdminImportPath imports an external root or intermediate
	// (POST ImportRequest → CAInfo).
	AdminImportPath = "/v1/admin/ca/import"
	// AdminTokensPath creates (POST TokenRequest → TokenCreated) and lists
	// (GET → TokenList) join tokens; AdminTokensPath+"/<id>" revokes one
	// (DELETE).
	AdminTokensPath = "/v1/admin/tokens"
)

// MaxBody bounds every request body of the CA API.
const MaxBody = 64 << 10

// SignRequest is the body of POST /v1/ca/sign.
type SignRequest struct {
	// CSR is a PEM "CERTIFICATE REQUEST" whose only URI SAN is the SPIFFE
	// id the caller asks for.
	CSR string `json:"csr"`
	// Token is a join token; optional once SigV4 authenticates the call.
	Token string `json:"token,omitempty"`
	// Proof, on a renewal, proves possession of the caller's current SVID
	// for the same SPIFFE id; the CA then checks it instead of Token or
	// SigV4. Its subject is the DER of CSR.
	Proof *Proof `json:"proof,omitempty"`
}

// SignResponse is the answer of POST /v1/ca/sign.
type SignResponse struct {
	// CertificateChain is the PEM leaf followed by any intermediates.
	CertificateChain string `json:"certificateChain"`
	// TrustBundle is the PEM roots a peer's chain must verify against.
	TrustBundle string `json:"trustBundle"`
	// Expiration is the leaf's NotAfter, RFC 3339.
	Expiration string `json:"expiration"`
	SpiffeID   string `json:"spiffeId"`
}

// BundleResponse is the answer of GET /v1/ca/bundle.
type BundleResponse struct {
	TrustDomain string `json:"trustDomain"`
	TrustBundle string `json:"trustBundle"`
}

// Authority describes one CA certificate of the trust bundle.
type Authority struct {
	Subject      string    `json:"subject"`
	SerialNumber string    `json:"serialNumber"`
	NotBefore    time.Time `json:"notBefore"`
	NotAfter     time.Time `json:"notAfter"`
	// Active is the authority that signs new certificates.
	Active bool `json:"active"`
	// Imported is set for an authority the user supplied.
	Imported bool `json:"imported"`
	// RetireAfter is set on a rotated-out authority: it stays in the
	// trust bundle until then (the last certificate it issued expires).
	RetireAfter *time.Time `json:"retireAfter,omitempty"`
	// SHA256 is the fingerprint of the certificate (hex).
	SHA256 string `json:"sha256"`
}

// CAInfo is the answer of the CA admin API.
type CAInfo struct {
	TrustDomain string      `json:"trustDomain"`
	SVIDTTL     string      `json:"svidTTL"`
	Authorities []Authority `json:"authorities"`
	TrustBundle string      `json:"trustBundle"`
}

// RotateRequest is the body of POST /v1/admin/ca/rotate.
type RotateRequest struct {
	// Immediate switches to the new root at once and drops the old ones
	// from the trust bundle (after a key compromise; connections of
	// proxies holding old certificates will fail).
	Immediate bool `json:"immediate,omitempty"`
}

// ImportRequest is the body of POST /v1/admin/ca/import.
type ImportRequest struct {
	// CertificateChain is the PEM CA certificate to sign with, followed by
	// its issuers up to and including the root.
	CertificateChain string `json:"certificateChain"`
	// PrivateKey is the PEM private key of the first certificate.
	PrivateKey string `json:"privateKey"`
	// Immediate is as in RotateRequest.
	Immediate bool `json:"immediate,omitempty"`
}

// TokenRequest is the body of POST /v1/admin/tokens.
type TokenRequest struct {
	Mesh string `json:"mesh"`
	// Node binds the token to one virtual node or gateway name; NodePattern
	// (path.Match syntax, e.g. "web-*") to names matching it. Exactly one.
	Node        string `json:"node,omitempty"`
	NodePattern string `json:"nodePattern,omitempty"`
	// TTL is a Go duration ("1h").
	TTL       string `json:"ttl"`
	SingleUse bool   `json:"singleUse,omitempty"`
}

// TokenInfo is a stored join token, without its secret.
type TokenInfo struct {
	ID          string    `json:"id"`
	Mesh        string    `json:"mesh"`
	Node        string    `json:"node,omitempty"`
	NodePattern string    `json:"nodePattern,omitempty"`
	SingleUse   bool      `json:"singleUse"`
	Created     time.Time `json:"created"`
	Expires     time.Time `json:"expires"`
}

// TokenCreated is the answer of POST /v1/admin/tokens: the only time the
// secret token is shown.
type TokenCreated struct {
	TokenInfo
	Token string `json:"token"`
}

// TokenList is the answer of GET /v1/admin/tokens.
type TokenList struct {
	Tokens []TokenInfo `json:"tokens"`
}
