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
	"sync"
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

	// mu guards cur, the last identity Enrol obtained: while it is valid,
	// renewals and bundle reads prove possession of it instead of sending
	// Token (a single-use token is spent at first enrolment) or signing.
	mu  sync.Mutex
	cur *Identity
}

// current is the last identity obtained, or nil.
func (e *Enroller) current() *Identity {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.cur
}

// canFallBack reports whether a refused proof may be retried with the
// first-enrolment credentials (an older CA that knows no proofs).
func (e *Enroller) canFallBack() bool { return e.Token != "" || e.Sign != nil }

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
	csrPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
	var resp enrol.SignResponse
	p := e.current().proof(enrol.ProofSign, der, time.Now())
	if p != nil {
		err = e.sign(ctx, enrol.SignRequest{CSR: csrPEM, Proof: p}, false, &resp)
	}
	if p == nil || (errors.Is(err, ErrRefused) && e.canFallBack()) {
		err = e.sign(ctx, enrol.SignRequest{CSR: csrPEM, Token: e.Token}, true, &resp)
	}
	if err != nil {
		return nil, err
	}
	ident, err := parseSignResponse(resp, id, key)
	if err != nil {
		return nil, fmt.Errorf("sign answer: %w", err)
	}
	ident.Issued = time.Now()
	e.mu.Lock()
	e.cur = ident
	e.mu.Unlock()
	return ident, nil
}

// sign posts one SignRequest, SigV4-signed if signed and Sign is set.
func (e *Enroller) sign(ctx context.Context, req enrol.SignRequest, signed bool, out *enrol.SignResponse) error {
	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	return e.post(ctx, enrol.SignPath, body, signed, out)
}

// post sends a JSON body and decodes a JSON answer (bounded).
func (e *Enroller) post(ctx context.Context, path string, body []byte, signed bool, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(e.APIURL, "/")+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if signed && e.Sign != nil {
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
