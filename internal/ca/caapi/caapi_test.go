package caapi

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/trellis-mesh/trellis/internal/ca"
	"github.com/trellis-mesh/trellis/internal/ca/enrol"
	"github.com/trellis-mesh/trellis/internal/store/bolt"
)

func newServer(t testing.TB) (*httptest.Server, *ca.CA) {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "t.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sealer, _ := ca.NewAESGCM(make([]byte, ca.KeySize))
	c, err := ca.New(ca.Options{Store: st, Sealer: sealer, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Ensure(t.Context()); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	Mount(mux, c, Options{Logger: slog.New(slog.DiscardHandler)})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, c
}

func csrPEM(t testing.TB, uri string) string {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	id, err := enrol.ParseID(uri)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{URIs: []*url.URL{id.URL()}}, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
}

// call sends a JSON request and returns status, error type and body.
func call(t testing.TB, method, url string, body any) (int, string, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, rd)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"), b
}

func TestSignContract(t *testing.T) {
	srv, _ := newServer(t)
	var tok enrol.TokenCreated
	status, _, b := call(t, "POST", srv.URL+enrol.AdminTokensPath, enrol.TokenRequest{Mesh: "shop", NodePattern: "web*", TTL: "1h", SingleUse: true})
	if status != 200 || json.Unmarshal(b, &tok) != nil || tok.Token == "" {
		t.Fatalf("create token: %d %s", status, b)
	}
	uri := "spiffe://trellis.local/mesh/shop/virtualNode/web"
	for _, tc := range []struct {
		name   string
		req    any
		status int
		typ    string
	}{
		{"no token", enrol.SignRequest{CSR: csrPEM(t, uri)}, 403, errForbidden},
		{"bad csr", enrol.SignRequest{CSR: "nope", Token: tok.Token}, 400, errBadRequest},
		{"other trust domain", enrol.SignRequest{CSR: csrPEM(t, "spiffe://evil/mesh/shop/virtualNode/web"), Token: tok.Token}, 400, errBadRequest},
		{"other node", enrol.SignRequest{CSR: csrPEM(t, "spiffe://trellis.local/mesh/shop/virtualNode/db"), Token: tok.Token}, 403, errForbidden},
		{"unknown field", map[string]string{"csr": "x", "tokn": "y"}, 400, errBadRequest},
		{"ok", enrol.SignRequest{CSR: csrPEM(t, uri), Token: tok.Token}, 200, ""},
		{"single use spent", enrol.SignRequest{CSR: csrPEM(t, uri), Token: tok.Token}, 403, errForbidden},
	} {
		status, typ, b := call(t, "POST", srv.URL+enrol.SignPath, tc.req)
		if status != tc.status || typ != tc.typ {
			t.Errorf("%s: %d %s %s, want %d %s", tc.name, status, typ, b, tc.status, tc.typ)
			continue
		}
		if status != 200 {
			continue
		}
		var resp enrol.SignResponse
		if err := json.Unmarshal(b, &resp); err != nil {
			t.Fatal(err)
		}
		exp, err := time.Parse(time.RFC3339, resp.Expiration)
		if resp.SpiffeID != uri || err != nil || time.Until(exp) < 50*time.Minute || resp.TrustBundle == "" || resp.CertificateChain == "" {
			t.Errorf("response %+v", resp)
		}
	}
}

func TestAdminAndBundle(t *testing.T) {
	srv, _ := newServer(t)
	status, _, b := call(t, "GET", srv.URL+enrol.BundlePath, nil)
	var bundle enrol.BundleResponse
	if status != 200 || json.Unmarshal(b, &bundle) != nil || bundle.TrustDomain != "trellis.local" || bundle.TrustBundle == "" {
		t.Fatalf("bundle: %d %s", status, b)
	}
	status, _, b = call(t, "POST", srv.URL+enrol.AdminRotatePath, enrol.RotateRequest{})
	var info enrol.CAInfo
	if status != 200 || json.Unmarshal(b, &info) != nil || len(info.Authorities) != 2 {
		t.Fatalf("rotate: %d %s", status, b)
	}
	status, typ, _ := call(t, "POST", srv.URL+enrol.AdminImportPath, enrol.ImportRequest{CertificateChain: "x", PrivateKey: "y"})
	if status != 400 || typ != errBadRequest {
		t.Errorf("bad import: %d %s", status, typ)
	}
	var tok enrol.TokenCreated
	_, _, b = call(t, "POST", srv.URL+enrol.AdminTokensPath, enrol.TokenRequest{Mesh: "shop", Node: "web", TTL: "1h"})
	json.Unmarshal(b, &tok)
	var list enrol.TokenList
	_, _, b = call(t, "GET", srv.URL+enrol.AdminTokensPath, nil)
	if json.Unmarshal(b, &list) != nil || len(list.Tokens) != 1 || bytes.Contains(b, []byte(tok.Token)) {
		t.Errorf("list: %s", b)
	}
	if status, _, _ := call(t, "DELETE", srv.URL+enrol.AdminTokensPath+"/"+tok.ID, nil); status != 204 {
		t.Errorf("revoke: %d", status)
	}
	if status, typ, _ := call(t, "DELETE", srv.URL+enrol.AdminTokensPath+"/"+tok.ID, nil); status != 404 || typ != errNotFound {
		t.Errorf("revoke again: %d %s", status, typ)
	}
}

func TestLoopbackOnly(t *testing.T) {
	h := LoopbackOnly(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	for addr, want := range map[string]int{"127.0.0.1:5": 200, "[::1]:5": 200, "10.0.0.1:5": 403, "bogus": 403} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/", nil)
		req.RemoteAddr = addr
		h.ServeHTTP(rec, req)
		if rec.Code != want {
			t.Errorf("%s: %d, want %d", addr, rec.Code, want)
		}
	}
}
