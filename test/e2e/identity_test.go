package e2e

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/trellis-mesh/trellis/internal/ca/enrol"
	"github.com/trellis-mesh/trellis/internal/server"
	"github.com/trellis-mesh/trellis/internal/xdsgen/bootstrap"
)

// identity is a proxy's certificate files (empty certFile: none).
type identity struct{ certFile, keyFile string }

// TestXDSMTLSRealEnvoy: with --xds-mtls, an Envoy holding its own SVID
// gets its configuration; one claiming another node's id with a valid
// certificate is refused with PermissionDenied (logged with both ids); one
// with no certificate, an expired one or one from another CA fails the
// handshake; and the legitimate proxy is unaffected throughout.
func TestXDSMTLSRealEnvoy(t *testing.T) {
	envoyBinary(t)
	logs := newLogBuffer()
	c := startTrellisWith(t, server.Config{CA: server.CAConfig{XDSMTLS: true, SVIDTTL: time.Hour}}, logs)
	c.mesh(t, "shop", "")
	c.node(t, "shop", "web", nodeSpec("", 0, "", "db.local"))
	c.node(t, "shop", "db", nodeSpec("", 0, "", "web.local"))
	dir := t.TempDir()

	// An external root, imported so it is trusted (the generated root
	// keeps signing): it lets the test mint an expired certificate.
	ext := newPKI(t)
	chain, _ := os.ReadFile(ext.CAFile)
	key, _ := x509.MarshalPKCS8PrivateKey(ext.caKey)
	adminPost(t, c, enrol.AdminImportPath, enrol.ImportRequest{CertificateChain: string(chain),
		PrivateKey: string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: key}))}, nil)

	web, bundleFile := enrolFiles(t, c, dir, "web")
	webID := "spiffe://trellis.local/mesh/shop/virtualNode/web"
	expired := mintSVID(t, dir, "expired", ext.ca, ext.caKey, webID, -time.Hour)
	other := newPKI(t)
	foreign := mintSVID(t, dir, "foreign", other.ca, other.caKey, webID, time.Hour)

	legit := startEnvoy(t, c, proxyConfig{NodeID: "mesh/shop/virtualNode/web", IP: loopbackIP(),
		Bootstrap: mtlsXDS(web, bundleFile), MetricsFlush: time.Second})
	if n := legit.stat(t, "control_plane.connected_state"); n != 1 {
		t.Fatalf("legitimate envoy: connected_state %d", n)
	}
	for _, tc := range []struct {
		name  string
		id    identity
		node  string
		proof string // in the server's log when the stream is refused
	}{
		{"claims another node", web, "mesh/shop/virtualNode/db", "claimed=mesh/shop/virtualNode/db proven=" + webID},
		{"no certificate", identity{}, "mesh/shop/virtualNode/web", ""},
		{"expired certificate", expired, "mesh/shop/virtualNode/web", ""},
		{"another CA", foreign, "mesh/shop/virtualNode/web", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := launchEnvoy(t, c, proxyConfig{NodeID: tc.node, IP: loopbackIP(), Bootstrap: mtlsXDS(tc.id, bundleFile)})
			// Refused at the stream (PermissionDenied) or at the handshake.
			eventually(t, 15*time.Second, func() error {
				if softStat(e, "control_plane.connected_state") < 0 {
					return fmt.Errorf("envoy admin not up yet")
				}
				if tc.proof != "" && !strings.Contains(logs.String(), tc.proof) {
					return fmt.Errorf("server has not logged the refusal %q", tc.proof)
				}
				if tc.proof == "" && softStat(e, "cluster.xds_cluster.ssl.connection_error") < 1 {
					return fmt.Errorf("no TLS handshake failure yet")
				}
				return nil
			})
			if n := e.stat(t, "control_plane.connected_state"); n != 0 {
				t.Errorf("connected_state = %d, want 0", n)
			}
			if e.hasStat(t, "cluster_manager.cds.update_success") && e.stat(t, "cluster_manager.cds.update_success") != 0 {
				t.Error("refused envoy received clusters")
			}
			e.cmd.Process.Kill()
		})
	}
	if !strings.Contains(logs.String(), "xds stream refused") || !strings.Contains(logs.String(), "PermissionDenied") {
		t.Errorf("refusal not logged as PermissionDenied")
	}
	if n := legit.stat(t, "control_plane.connected_state"); n != 1 {
		t.Errorf("legitimate envoy disturbed: connected_state %d", n)
	}
	expectAllAcked(t, c, "mesh/shop/virtualNode/web")
	expectMetricsStream(t, c) // the legitimate Envoy's stats stream passes the same mTLS check
}

// mtlsXDS makes the bootstrap's xds_cluster speak TLS, presenting id's
// certificate (none when empty) and trusting the CA bundle.
func mtlsXDS(id identity, bundleFile string) func(*bootstrapv3.Bootstrap) {
	return func(b *bootstrapv3.Bootstrap) {
		common := &tlsv3.CommonTlsContext{
			AlpnProtocols: []string{"h2"},
			ValidationContextType: &tlsv3.CommonTlsContext_ValidationContext{ValidationContext: &tlsv3.CertificateValidationContext{
				TrustedCa: &corev3.DataSource{Specifier: &corev3.DataSource_Filename{Filename: bundleFile}}}},
		}
		if id.certFile != "" {
			common.TlsCertificates = []*tlsv3.TlsCertificate{{
				CertificateChain: &corev3.DataSource{Specifier: &corev3.DataSource_Filename{Filename: id.certFile}},
				PrivateKey:       &corev3.DataSource{Specifier: &corev3.DataSource_Filename{Filename: id.keyFile}},
			}}
		}
		tc, err := anypb.New(&tlsv3.UpstreamTlsContext{Sni: "localhost", CommonTlsContext: common})
		if err != nil {
			panic(err)
		}
		for _, cl := range b.GetStaticResources().GetClusters() {
			if cl.GetName() == bootstrap.XDSCluster {
				cl.TransportSocket = &corev3.TransportSocket{Name: "envoy.transport_sockets.tls",
					ConfigType: &corev3.TransportSocket_TypedConfig{TypedConfig: tc}}
			}
		}
	}
}

// adminPost posts to the CA API and decodes a 200 answer into out.
func adminPost(t *testing.T, c *cp, path string, body, out any) {
	t.Helper()
	b, _ := json.Marshal(body)
	resp, err := http.Post("http://"+c.srv.Addr()+path, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("POST %s: %s %s", path, resp.Status, resp.Header.Get("X-Amzn-ErrorType"))
	}
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatal(err)
		}
	}
}

// enrolFiles enrols virtual node name of mesh shop with a join token, as
// the sidecar does, and writes its certificate chain, key and the trust
// bundle into dir.
func enrolFiles(t *testing.T, c *cp, dir, name string) (identity, string) {
	t.Helper()
	var tok enrol.TokenCreated
	adminPost(t, c, enrol.AdminTokensPath, enrol.TokenRequest{Mesh: "shop", Node: name, TTL: "5m", SingleUse: true}, &tok)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	id := enrol.ID{TrustDomain: "trellis.local", Mesh: "shop", Kind: enrol.KindVirtualNode, Name: name}
	der, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{URIs: []*url.URL{id.URL()}}, key)
	var signed enrol.SignResponse
	adminPost(t, c, enrol.SignPath, enrol.SignRequest{Token: tok.Token,
		CSR: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))}, &signed)
	kb, _ := x509.MarshalPKCS8PrivateKey(key)
	return identity{writeFile(t, dir, name+".pem", []byte(signed.CertificateChain)),
			writeFile(t, dir, name+"-key.pem", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}))},
		writeFile(t, dir, "bundle.pem", []byte(signed.TrustBundle))
}

// mintSVID issues a certificate for uri from issuer, valid until now+life
// (negative: already expired).
func mintSVID(t *testing.T, dir, name string, issuer *x509.Certificate, issuerKey *ecdsa.PrivateKey, uri string, life time.Duration) identity {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	u, _ := url.Parse(uri)
	now := time.Now()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(now.UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: now.Add(-2 * time.Hour), NotAfter: now.Add(life), URIs: []*url.URL{u},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, issuer, &key.PublicKey, issuerKey)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalPKCS8PrivateKey(key)
	return identity{writeFile(t, dir, name+".pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		writeFile(t, dir, name+"-key.pem", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}))}
}

func writeFile(t *testing.T, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// softStat reads a stat like envoyProc.stat, or -1 while the admin
// endpoint is not up yet.
func softStat(e *envoyProc, name string) int {
	resp, err := http.Get(e.admin + "/stats?filter=^" + name + "$")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	_, v, ok := strings.Cut(strings.TrimSpace(b.String()), ": ")
	if !ok {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0
	}
	return n
}
