package etcdtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// NewTLS writes a fresh CA, a server certificate for 127.0.0.1 and a
// client certificate (PEM files in a temp dir) for StartTLS.
func NewTLS(t TB) *TLS {
	t.Helper()
	dir := t.TempDir()
	caKey, caCert := newCert(t, "trellis test ca", nil, nil, func(c *x509.Certificate) {
		c.IsCA, c.BasicConstraintsValid = true, true
		c.KeyUsage = x509.KeyUsageCertSign
	})
	tc := &TLS{CA: writePEM(t, dir, "ca.pem", "CERTIFICATE", caCert.Raw)}
	srvKey, srvCert := newCert(t, "etcd", caCert, caKey, func(c *x509.Certificate) {
		c.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
		c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
	})
	tc.ServerCert = writePEM(t, dir, "server.pem", "CERTIFICATE", srvCert.Raw)
	tc.ServerKey = writePEM(t, dir, "server-key.pem", "EC PRIVATE KEY", marshalKey(t, srvKey))
	cliKey, cliCert := newCert(t, "trellis", caCert, caKey, func(c *x509.Certificate) {
		c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	})
	tc.ClientCert = writePEM(t, dir, "client.pem", "CERTIFICATE", cliCert.Raw)
	tc.ClientKey = writePEM(t, dir, "client-key.pem", "EC PRIVATE KEY", marshalKey(t, cliKey))
	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	tc.Client = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{{
		Certificate: [][]byte{cliCert.Raw}, PrivateKey: cliKey, Leaf: cliCert}}}
	return tc
}

// newCert makes a key and a certificate signed by parent (self-signed
// when parent is nil), adjusted by edit.
func newCert(t TB, cn string, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, edit func(*x509.Certificate)) (*ecdsa.PrivateKey, *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("etcdtest: key: %v", err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature}
	edit(tmpl)
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatalf("etcdtest: certificate: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("etcdtest: parse certificate: %v", err)
	}
	return key, cert
}

func marshalKey(t TB, key *ecdsa.PrivateKey) []byte {
	t.Helper()
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatalf("etcdtest: marshal key: %v", err)
	}
	return der
}

func writePEM(t TB, dir, name, typ string, der []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatalf("etcdtest: write %s: %v", name, err)
	}
	return path
}
