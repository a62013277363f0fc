package ca

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"
)

const nodeURI = "spiffe://trellis.local/mesh/shop/virtualNode/web"

func TestSignIssuesSVID(t *testing.T) {
	c, clk := newTestCA(t, 5*time.Minute)
	csrPEM, _ := csrFor(t, nodeURI)
	csr, id, err := ParseCSR(csrPEM, c.TrustDomain())
	if err != nil {
		t.Fatal(err)
	}
	iss, err := c.Sign(t.Context(), csr, id)
	if err != nil {
		t.Fatal(err)
	}
	if got := iss.Leaf.URIs[0].String(); got != nodeURI || len(iss.Leaf.URIs) != 1 {
		t.Errorf("URI SAN = %v, want %s", iss.Leaf.URIs, nodeURI)
	}
	if d := iss.NotAfter.Sub(clk.Now()); d < 5*time.Minute-time.Second || d > 5*time.Minute {
		t.Errorf("lifetime %s, want 5m", d)
	}
	if iss.Leaf.IsCA {
		t.Error("leaf is a CA")
	}
	if err := verify(iss.ChainPEM, iss.BundlePEM, clk.Now()); err != nil {
		t.Errorf("chain does not verify: %v", err)
	}
	if err := verify(iss.ChainPEM, iss.BundlePEM, clk.Now().Add(6*time.Minute)); err == nil {
		t.Error("chain verifies after expiry")
	}
}

func TestTTLBounds(t *testing.T) {
	for _, tc := range []struct {
		ttl time.Duration
		ok  bool
	}{{0, true}, {time.Minute, true}, {59 * time.Second, false}, {MaxSVIDTTL + 1, false}, {24 * time.Hour, true}} {
		_, err := New(Options{Store: openStore(t), Sealer: testSealer(t), SVIDTTL: tc.ttl})
		if (err == nil) != tc.ok {
			t.Errorf("ttl %s: err %v, want ok=%v", tc.ttl, err, tc.ok)
		}
	}
}

// TestReplicasShareCA: a second CA over the same store uses the same
// root, and a wrong sealing key cannot open it.
func TestReplicasShareCA(t *testing.T) {
	st := openStore(t)
	a, _ := New(Options{Store: st, Sealer: testSealer(t)})
	b, _ := New(Options{Store: st, Sealer: testSealer(t)})
	if err := a.Ensure(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := b.Ensure(t.Context()); err != nil {
		t.Fatal(err)
	}
	ba, _ := a.Bundle(t.Context())
	bb, _ := b.Bundle(t.Context())
	if ba != bb || ba == "" {
		t.Error("replicas have different bundles")
	}
	key := make([]byte, KeySize)
	key[0] = 1
	wrong, _ := NewAESGCM(key)
	w, _ := New(Options{Store: st, Sealer: wrong})
	if err := w.Ensure(t.Context()); !errors.Is(err, ErrUnseal) {
		t.Errorf("wrong key: %v, want ErrUnseal", err)
	}
	kv, _ := st.Get(t.Context(), StateKey)
	if strings.Contains(string(kv.Value), "PRIVATE KEY") {
		t.Error("private key stored in clear")
	}
}

// TestRotationOverlap: after Rotate the bundle holds both roots at once;
// the old root keeps signing for half a lifetime, then the new one signs;
// the old root leaves the bundle once its last certificate expired.
func TestRotationOverlap(t *testing.T) {
	ttl := 10 * time.Minute
	c, clk := newTestCA(t, ttl)
	csrPEM, _ := csrFor(t, nodeURI)
	csr, id, _ := ParseCSR(csrPEM, c.TrustDomain())
	before, _ := c.Sign(t.Context(), csr, id)
	if err := c.Rotate(t.Context(), false); err != nil {
		t.Fatal(err)
	}
	bundle, _ := c.Bundle(t.Context())
	if n := strings.Count(bundle, "BEGIN CERTIFICATE"); n != 2 {
		t.Fatalf("bundle after rotate has %d roots, want 2", n)
	}
	still, _ := c.Sign(t.Context(), csr, id)
	if !bytes.Equal(still.Leaf.AuthorityKeyId, before.Leaf.AuthorityKeyId) {
		t.Error("new root signs before half a lifetime")
	}
	clk.Add(ttl/2 + time.Second)
	after, _ := c.Sign(t.Context(), csr, id)
	if bytes.Equal(after.Leaf.AuthorityKeyId, before.Leaf.AuthorityKeyId) {
		t.Error("old root still signs after the switch")
	}
	// A certificate of the old root still verifies against the bundle
	// a proxy fetches now.
	if err := verify(still.ChainPEM, after.BundlePEM, clk.Now()); err != nil {
		t.Errorf("old-root cert rejected during overlap: %v", err)
	}
	clk.Add(ttl + 2*time.Minute)
	bundle, _ = c.Bundle(t.Context())
	if n := strings.Count(bundle, "BEGIN CERTIFICATE"); n != 1 {
		t.Errorf("bundle after retirement has %d roots, want 1", n)
	}
	info, _ := c.Info(t.Context())
	if len(info.Authorities) != 2 || !info.Authorities[1].Active || info.Authorities[0].Active {
		t.Errorf("info = %+v", info.Authorities)
	}
}

func TestRotateImmediate(t *testing.T) {
	c, clk := newTestCA(t, 10*time.Minute)
	old, _ := c.Bundle(t.Context())
	if err := c.Rotate(t.Context(), true); err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Second)
	now, _ := c.Bundle(t.Context())
	if now == old || strings.Count(now, "BEGIN CERTIFICATE") != 1 {
		t.Errorf("immediate rotation kept the old root")
	}
}

// makeCA creates a self-signed root and, if intermediate, an intermediate
// under it; it returns the PEM chain (signing cert first) and PEM key.
func makeCA(t *testing.T, intermediate bool) (chainPEM, keyPEM []byte) {
	t.Helper()
	rootKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: bigOne(), Subject: pkix.Name{CommonName: "ext root"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(48 * time.Hour), IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	rootDER, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, rootKey.Public(), rootKey)
	rootCert, _ := x509.ParseCertificate(rootDER)
	signKey, chain := rootKey, [][]byte{rootDER}
	if intermediate {
		signKey, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		it := *tmpl
		it.Subject = pkix.Name{CommonName: "ext intermediate"}
		der, _ := x509.CreateCertificate(rand.Reader, &it, rootCert, signKey.Public(), rootKey)
		chain = [][]byte{der, rootDER}
	}
	for _, d := range chain {
		chainPEM = append(chainPEM, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: d})...)
	}
	k, _ := x509.MarshalPKCS8PrivateKey(signKey)
	return chainPEM, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: k})
}

func TestImport(t *testing.T) {
	for _, inter := range []bool{false, true} {
		c, _ := newTestCA(t, 10*time.Minute)
		chain, key := makeCA(t, inter)
		if err := c.Import(t.Context(), chain, key, true); err != nil {
			t.Fatalf("intermediate=%v: %v", inter, err)
		}
		csrPEM, _ := csrFor(t, nodeURI)
		csr, id, _ := ParseCSR(csrPEM, c.TrustDomain())
		iss, err := c.Sign(t.Context(), csr, id)
		if err != nil {
			t.Fatal(err)
		}
		if want := map[bool]string{false: "CN=ext root", true: "CN=ext intermediate"}[inter]; iss.Leaf.Issuer.String() != want {
			t.Errorf("issuer %s, want %s", iss.Leaf.Issuer, want)
		}
		if err := verify(iss.ChainPEM, iss.BundlePEM, time.Now()); err != nil {
			t.Errorf("intermediate=%v: %v", inter, err)
		}
		if n := strings.Count(iss.ChainPEM, "BEGIN"); n != map[bool]int{false: 1, true: 2}[inter] {
			t.Errorf("chain has %d certificates", n)
		}
	}
}

func TestImportRefused(t *testing.T) {
	c, _ := newTestCA(t, 10*time.Minute)
	chain, key := makeCA(t, true)
	_, otherKey := makeCA(t, false)
	first := chain[:strings.Index(string(chain), "-----END CERTIFICATE-----")+len("-----END CERTIFICATE-----\n")]
	for name, tc := range map[string][2][]byte{
		"empty":         {nil, key},
		"wrong key":     {chain, otherKey},
		"no root":       {first, key},
		"garbage key":   {chain, []byte("x")},
		"leaf not a CA": {leafPEM(t, c), key},
	} {
		if err := c.Import(t.Context(), tc[0], tc[1], false); !errors.Is(err, ErrBadImport) {
			t.Errorf("%s: %v, want ErrBadImport", name, err)
		}
	}
	// An imported CA that expires within one SVID lifetime is refused.
	long, _ := newTestCA(t, 30*24*time.Hour)
	if err := long.Import(t.Context(), chain, key, false); !errors.Is(err, ErrBadImport) {
		t.Errorf("short-lived import: %v", err)
	}
}

func leafPEM(t *testing.T, c *CA) []byte {
	csrPEM, _ := csrFor(t, nodeURI)
	csr, id, _ := ParseCSR(csrPEM, c.TrustDomain())
	iss, err := c.Sign(t.Context(), csr, id)
	if err != nil {
		t.Fatal(err)
	}
	return []byte(iss.ChainPEM)
}
