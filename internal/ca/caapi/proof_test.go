package caapi

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/trellis-mesh/trellis/internal/ca/enrol"
)

// TestRenewByProof: after a single-use token is spent, the sidecar renews
// and reads the bundle from off loopback with a proof of possession of
// its SVID; a proof for another node, or one over another CSR, is refused
// with ForbiddenException.
func TestRenewByProof(t *testing.T) {
	srv, c := newServer(t)
	tok, err := c.CreateToken(t.Context(), enrol.TokenRequest{Mesh: "shop", Node: "web", TTL: "1h", SingleUse: true})
	if err != nil {
		t.Fatal(err)
	}
	uri := "spiffe://trellis.local/mesh/shop/virtualNode/web"
	first, key := signed(t, srv.URL, enrol.SignRequest{CSR: csrPEM(t, uri), Token: tok.Token})
	for _, tc := range []struct {
		name    string
		csrURI  string
		subject func(der []byte) []byte
		status  int
	}{
		{"renewal", uri, func(der []byte) []byte { return der }, 200},
		{"other node", "spiffe://trellis.local/mesh/shop/virtualNode/db", func(der []byte) []byte { return der }, 403},
		{"other CSR", uri, func(der []byte) []byte { return append(der, 1) }, 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			csr := csrPEM(t, tc.csrURI)
			b, _ := pem.Decode([]byte(csr))
			p, err := enrol.MakeProof(key, []byte(first.CertificateChain), enrol.ProofSign, tc.subject(b.Bytes), time.Now())
			if err != nil {
				t.Fatal(err)
			}
			status, typ, body := call(t, "POST", srv.URL+enrol.SignPath, enrol.SignRequest{CSR: csr, Proof: p})
			if status != tc.status || (status == 403 && typ != errForbidden) {
				t.Fatalf("%d %s %s, want %d", status, typ, body, tc.status)
			}
		})
	}
	// The bundle poll, from off loopback, with the proof in its header.
	mux := http.NewServeMux()
	Mount(mux, c, Options{})
	p, err := enrol.MakeProof(key, []byte(first.CertificateChain), enrol.ProofBundle, []byte(uri), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	h, _ := enrol.EncodeProofHeader(p)
	for _, tc := range []struct {
		name, id, header string
		want             int
	}{
		{"proof", uri, h, 200},
		{"proof for another id", "spiffe://trellis.local/mesh/shop/virtualNode/db", h, 403},
		{"malformed proof", uri, "!!", 403},
	} {
		req := httptest.NewRequest("GET", enrol.BundlePath+"?"+enrol.BundleIDParam+"="+url.QueryEscape(tc.id), nil)
		req.RemoteAddr = "10.0.0.7:4000"
		req.Header.Set(enrol.ProofHeader, tc.header)
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		if rec.Code != tc.want {
			t.Errorf("%s: status %d, want %d: %s", tc.name, rec.Code, tc.want, rec.Body)
		}
	}
}

// signed enrols with req (whose CSR key is replaced by a fresh one) and
// returns the answer and the key.
func signed(t *testing.T, base string, req enrol.SignRequest) (enrol.SignResponse, *ecdsa.PrivateKey) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	b, _ := pem.Decode([]byte(req.CSR))
	old, err := x509.ParseCertificateRequest(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{URIs: old.URIs}, key)
	if err != nil {
		t.Fatal(err)
	}
	req.CSR = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
	status, _, body := call(t, "POST", base+enrol.SignPath, req)
	var resp enrol.SignResponse
	if status != 200 || json.Unmarshal(body, &resp) != nil {
		t.Fatalf("enrol: %d %s", status, body)
	}
	return resp, key
}
