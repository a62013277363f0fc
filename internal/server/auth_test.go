package server_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/appmesh"
	"github.com/aws/smithy-go"

	"github.com/trellis-mesh/trellis/internal/auth/awscreds"
	"github.com/trellis-mesh/trellis/internal/server"
)

// startAuthServer starts a server with authentication on and returns it
// with the bootstrapped admin credentials.
func startAuthServer(t *testing.T, mutate func(*server.Config)) (*server.Server, aws.Credentials) {
	t.Helper()
	cfg := config(t.TempDir())
	cfg.Auth.Enabled = true
	if mutate != nil {
		mutate(&cfg)
	}
	s, err := server.Start(cfg)
	if err != nil {
		t.Fatalf("server.Start: %v", err)
	}
	t.Cleanup(func() { s.Stop() })
	if fi, err := os.Stat(s.AdminCredentialsFile()); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("admin credentials file: %v %v", fi, err)
	}
	creds, err := awscreds.FromFile(s.AdminCredentialsFile(), "default")
	if err != nil {
		t.Fatal(err)
	}
	return s, creds
}

// TestAuthOnEveryAPI: a signed SDK call works; unsigned and forged calls to
// the App Mesh API, the Cloud Map API, /debug/xds and the admin API fail
// with 403; /healthz stays open.
func TestAuthOnEveryAPI(t *testing.T) {
	s, creds := startAuthServer(t, func(c *server.Config) { c.XDSAddr = "127.0.0.1:0" })
	base := "http://" + s.Addr()
	c := appmesh.New(appmesh.Options{Region: testRegion, BaseEndpoint: aws.String(base), Credentials: awscreds.Provider{Creds: creds}})
	ctx := context.Background()
	if _, err := c.CreateMesh(ctx, &appmesh.CreateMeshInput{MeshName: aws.String("shop")}); err != nil {
		t.Fatalf("signed CreateMesh: %v", err)
	}
	forged := appmesh.New(appmesh.Options{Region: testRegion, BaseEndpoint: aws.String(base),
		Credentials: awscreds.Provider{Creds: aws.Credentials{AccessKeyID: creds.AccessKeyID, SecretAccessKey: "forged"}}})
	_, err := forged.DeleteMesh(ctx, &appmesh.DeleteMeshInput{MeshName: aws.String("shop")})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "InvalidSignatureException" {
		t.Fatalf("forged DeleteMesh: %v", err)
	}
	tests := []struct {
		method, path, target string
		want                 int
	}{
		{"DELETE", "/v20190125/meshes/shop", "", 403},
		{"GET", "/debug/xds", "", 403},
		{"POST", "/", "Route53AutoNaming_v20170314.ListNamespaces", 403},
		{"POST", "/trellis-admin/v1/ListAccessKeys", "", 403},
		{"GET", "/metrics", "", 403},
		{"GET", "/admin/backup", "", 403},
		{"GET", "/healthz", "", 200},
	}
	for _, tc := range tests {
		req, _ := http.NewRequest(tc.method, base+tc.path, strings.NewReader("{}"))
		if tc.target != "" {
			req.Header.Set("X-Amz-Target", tc.target)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("unsigned %s %s: status %d, want %d", tc.method, tc.path, resp.StatusCode, tc.want)
		}
	}
	if _, err := c.DescribeMesh(ctx, &appmesh.DescribeMeshInput{MeshName: aws.String("shop")}); err != nil {
		t.Fatalf("mesh gone after rejected deletes: %v", err)
	}
}

// TestBindRequiresAuth: with auth off the server refuses a non-loopback
// address unless InsecureNoAuth; the key file is created 0600.
func TestBindRequiresAuth(t *testing.T) {
	cfg := config(t.TempDir())
	cfg.APIAddr = "0.0.0.0:0"
	if _, err := server.Start(cfg); err == nil || !strings.Contains(err.Error(), "--insecure-no-auth") {
		t.Fatalf("auth off on 0.0.0.0: %v", err)
	}
	cfg.APIAddr = "127.0.0.1:0"
	cfg.XDSAddr = "[::]:0"
	if _, err := server.Start(cfg); err == nil {
		t.Fatal("auth off with xDS on every interface was accepted")
	}
	var logs bytes.Buffer
	cfg.XDSAddr = ""
	cfg.APIAddr = "0.0.0.0:0"
	cfg.Auth.InsecureNoAuth = true
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	s, err := server.Start(cfg)
	if err != nil {
		t.Fatalf("insecure-no-auth: %v", err)
	}
	s.Stop()
	if !strings.Contains(logs.String(), `level=WARN msg="INSECURE`) {
		t.Fatalf("no warning logged: %s", logs.String())
	}
}

// TestAPITLS: HTTPS with HTTP/2 on the API port, signed calls work over it.
func TestAPITLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := writeSelfSigned(t, dir)
	s, creds := startAuthServer(t, func(c *server.Config) { c.APITLSCert, c.APITLSKey = certFile, keyFile })
	pool := x509.NewCertPool()
	pem, _ := os.ReadFile(certFile)
	pool.AppendCertsFromPEM(pem)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}}
	resp, err := hc.Get("https://" + s.Addr() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.ProtoMajor != 2 {
		t.Fatalf("protocol %s, want HTTP/2", resp.Proto)
	}
	c := appmesh.New(appmesh.Options{Region: testRegion, BaseEndpoint: aws.String("https://" + s.Addr()),
		Credentials: awscreds.Provider{Creds: creds}, HTTPClient: hc})
	if _, err := c.ListMeshes(context.Background(), &appmesh.ListMeshesInput{}); err != nil {
		t.Fatalf("signed ListMeshes over TLS: %v", err)
	}
}

// writeSelfSigned writes a certificate for 127.0.0.1 and its key.
func writeSelfSigned(t *testing.T, dir string) (string, string) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "trellis"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile := filepath.Join(dir, "api.crt"), filepath.Join(dir, "api.key")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	return certFile, keyFile
}
