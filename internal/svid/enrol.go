package svid

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/trellis-mesh/trellis/internal/ca/enrol"
)

// Enroller gets SVIDs signed by the control plane's CA.
type Enroller struct {
	// APIURL is the server's API base URL (http://host:port).
	APIURL string
	// Token is the join token; empty means the request is signed by Sign.
	Token string
	// Sign, when set, signs the request (SigV4) before it is sent.
	Sign func(*http.Request, []byte) error
	// Client is the HTTP client (http.DefaultClient if nil).
	Client *http.Client
}

// ErrRefused wraps an answer of the CA that refused the request (4xx):
// retrying the same request will not help until the credentials change.
var ErrRefused = errors.New("enrolment refused")

// Enrol makes a new key and CSR for id and returns the signed identity.
func (e *Enroller) Enrol(ctx context.Context, id enrol.ID) (*Identity, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{URIs: []*url.URL{id.URL()}}, key)
	if err != nil {
		return nil, fmt.Errorf("create csr: %w", err)
	}
	body, err := json.Marshal(enrol.SignRequest{
		CSR:   string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})),
		Token: e.Token,
	})
	if err != nil {
		return nil, err
	}
	var resp enrol.SignResponse
	if err := e.post(ctx, enrol.SignPath, body, &resp); err != nil {
		return nil, err
	}
	ident, err := parseSignResponse(resp, id, key)
	if err != nil {
		return nil, fmt.Errorf("sign answer: %w", err)
	}
	ident.Issued = time.Now()
	return ident, nil
}

// post sends a JSON body and decodes a JSON answer (bounded).
func (e *Enroller) post(ctx context.Context, path string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(e.APIURL, "/")+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if e.Sign != nil {
		if err := e.Sign(req, body); err != nil {
			return fmt.Errorf("sign request: %w", err)
		}
	}
	b, err := e.do(req)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("POST %s: decode answer: %w", path, err)
	}
	return nil
}
