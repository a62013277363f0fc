package server_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/trellis-mesh/trellis/internal/ca/enrol"
)

// doCA sends a CA API request, SigV4-signed for appmesh when creds is set,
// and returns the status and error type; out gets a 200 body.
func doCA(t *testing.T, base, method, path string, creds *aws.Credentials, body, out any) (int, string) {
	t.Helper()
	var b []byte
	if body != nil {
		b, _ = json.Marshal(body)
	}
	req, _ := http.NewRequest(method, base+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if creds != nil {
		sum := sha256.Sum256(b)
		if err := v4.NewSigner().SignHTTP(t.Context(), *creds, req, hex.EncodeToString(sum[:]), "appmesh", testRegion, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == 200 && out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType")
}

func newCSR(t *testing.T, mesh, node string) string {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	id := enrol.ID{TrustDomain: "trellis.local", Mesh: mesh, Kind: enrol.KindVirtualNode, Name: node}
	der, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{URIs: []*url.URL{id.URL()}}, key)
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
}

// TestCAWithAuth: with API authentication on, the CA admin API and the
// bundle need a signature; enrolment works with a join token and no
// signature, or with a SigV4 signature of a principal allowed
// appmesh:StreamAggregatedResources, and fails with neither.
func TestCAWithAuth(t *testing.T) {
	s, admin := startAuthServer(t, nil)
	base := "http://" + s.Addr()
	forged := admin
	forged.SecretAccessKey = "forged"
	for _, tc := range []struct {
		method, path string
		creds        *aws.Credentials
		body         any
		want         int
	}{
		{"GET", enrol.BundlePath, nil, nil, 403},
		{"GET", enrol.AdminCAPath, nil, nil, 403},
		{"POST", enrol.AdminTokensPath, nil, enrol.TokenRequest{Mesh: "shop", Node: "web", TTL: "1h"}, 403},
		{"GET", enrol.BundlePath, &admin, nil, 200},
		{"GET", enrol.AdminCAPath, &admin, nil, 200},
		{"POST", enrol.SignPath, nil, enrol.SignRequest{CSR: newCSR(t, "shop", "web")}, 403},
		{"POST", enrol.SignPath, &forged, enrol.SignRequest{CSR: newCSR(t, "shop", "web")}, 403},
		{"POST", enrol.SignPath, &admin, enrol.SignRequest{CSR: newCSR(t, "shop", "web")}, 200},
		{"GET", enrol.BundlePath + "?spiffeId=spiffe://trellis.local/mesh/shop/virtualNode/web", nil, nil, 403},
		{"GET", enrol.BundlePath + "?spiffeId=spiffe://trellis.local/mesh/shop/virtualNode/web", &forged, nil, 403},
		{"GET", enrol.BundlePath + "?spiffeId=spiffe://trellis.local/mesh/shop/virtualNode/web", &admin, nil, 200},
	} {
		if got, typ := doCA(t, base, tc.method, tc.path, tc.creds, tc.body, nil); got != tc.want {
			t.Errorf("%s %s signed=%v: %d %s, want %d", tc.method, tc.path, tc.creds != nil, got, typ, tc.want)
		}
	}
	var tok enrol.TokenCreated
	if got, typ := doCA(t, base, "POST", enrol.AdminTokensPath, &admin, enrol.TokenRequest{Mesh: "shop", Node: "web", TTL: "1h"}, &tok); got != 200 {
		t.Fatalf("create token: %d %s", got, typ)
	}
	var signed enrol.SignResponse
	if got, typ := doCA(t, base, "POST", enrol.SignPath, nil, enrol.SignRequest{CSR: newCSR(t, "shop", "web"), Token: tok.Token}, &signed); got != 200 || signed.SpiffeID == "" {
		t.Errorf("token enrolment: %d %s", got, typ)
	}
}

// TestEnrolSigV4Policy: a principal allowed appmesh:StreamAggregatedResources
// on one node's ARN enrols that node and no other, as App Mesh authorised
// an Envoy's stream.
func TestEnrolSigV4Policy(t *testing.T) {
	s, _ := startAuthServer(t, nil)
	base := "http://" + s.Addr()
	const role = "arn:aws:iam::" + testAccount + ":role/web-task"
	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"appmesh:StreamAggregatedResources",
		"Resource":"arn:aws:appmesh:` + testRegion + `:` + testAccount + `:mesh/shop/virtualNode/web"}]}`
	ctx := t.Context()
	if _, err := s.Keys().CreatePrincipal(ctx, role); err != nil {
		t.Fatal(err)
	}
	if err := s.Keys().SetPolicy(ctx, role, "envoy", json.RawMessage(policy)); err != nil {
		t.Fatal(err)
	}
	key, err := s.Keys().CreateKey(ctx, role, 0)
	if err != nil {
		t.Fatal(err)
	}
	creds := &aws.Credentials{AccessKeyID: key.AccessKeyID, SecretAccessKey: key.SecretAccessKey}
	deadline := time.Now().Add(10 * time.Second) // the key reaches the auth mirror by a store watch
	for {
		got, typ := doCA(t, base, "POST", enrol.SignPath, creds, enrol.SignRequest{CSR: newCSR(t, "shop", "web")}, nil)
		if got == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("enrol web: %d %s", got, typ)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, node := range []string{"db", "web2"} {
		if got, typ := doCA(t, base, "POST", enrol.SignPath, creds, enrol.SignRequest{CSR: newCSR(t, "shop", node)}, nil); got != 403 || typ != "ForbiddenException" {
			t.Errorf("enrol %s: %d %s, want 403 ForbiddenException", node, got, typ)
		}
	}
	if got, _ := doCA(t, base, "GET", enrol.AdminCAPath, creds, nil, nil); got != 403 {
		t.Errorf("DescribeCA without trellis:DescribeCA: %d, want 403", got)
	}
}
