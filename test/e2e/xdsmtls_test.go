package e2e

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/appmesh"
	"github.com/aws/aws-sdk-go-v2/service/appmesh/types"

	"github.com/trellis-mesh/trellis/internal/ca/enrol"
	"github.com/trellis-mesh/trellis/internal/server"

	"github.com/trellis-mesh/trellis/internal/svid"
	"github.com/trellis-mesh/trellis/internal/xdsgen/bootstrap"
)

// xdsMTLSProxy terminates mTLS in front of the plaintext xDS port the way
// `trellis server --xds-mtls` does (client certificates of the CA
// required, a server certificate from the CA naming 127.0.0.1), and
// forwards the bytes. It records the SPIFFE ids of the clients it let in.
type xdsMTLSProxy struct {
	addr string
	mu   sync.Mutex
	ids  []string
}

func startXDSMTLSProxy(t *testing.T, w *workloadCA, upstream string) *xdsMTLSProxy {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	iss, err := w.ca.IssueServer(t.Context(), key.Public(), nil, []net.IP{net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	cert, err := tls.X509KeyPair([]byte(iss.ChainPEM), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	if err != nil {
		t.Fatal(err)
	}
	roots, err := w.ca.Roots(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, ClientCAs: roots,
		ClientAuth: tls.RequireAndVerifyClientCert, NextProtos: []string{"h2"}, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	p := &xdsMTLSProxy{addr: ln.Addr().String()}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() { defer wg.Done(); p.forward(c.(*tls.Conn), upstream) }()
		}
	}()
	return p
}

func (p *xdsMTLSProxy) forward(c *tls.Conn, upstream string) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if err := c.Handshake(); err != nil {
		return
	}
	c.SetDeadline(time.Time{})
	if peer := c.ConnectionState().PeerCertificates; len(peer) > 0 && len(peer[0].URIs) == 1 {
		p.mu.Lock()
		p.ids = append(p.ids, peer[0].URIs[0].String())
		p.mu.Unlock()
	}
	u, err := net.Dial("tcp", upstream)
	if err != nil {
		return
	}
	defer u.Close()
	done := make(chan struct{})
	go func() { io.Copy(u, c); u.(*net.TCPConn).CloseWrite(); close(done) }()
	io.Copy(c, u)
	c.CloseWrite()
	<-done
}

func (p *xdsMTLSProxy) seen() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.ids...)
}

// TestXDSOverMTLSWithSVID: an Envoy whose bootstrap the sidecar renders
// with --xds-mtls reaches an mTLS-only xDS port with the SVID its SDS
// server serves, is configured, and carries traffic.
func TestXDSOverMTLSWithSVID(t *testing.T) {
	wca := startWorkloadCA(t, time.Hour)
	c := startTrellis(t)
	proxy := startXDSMTLSProxy(t, wca, c.srv.XDSAddr())
	secureIP, frontIP := loopbackIP(), loopbackIP()
	appPort := freePort(t, secureIP)
	startApp(t, "secure", secureIP, appPort)
	c.mesh(t, "xm", "")
	c.node(t, "xm", "secure", nodeSpec(secureIP, tlsPort, types.PortProtocolHttp))
	c.serviceByNode(t, "xm", "secure.local", "secure")
	c.node(t, "xm", "front", nodeSpec("", 0, "", "secure.local"))
	startEnvoy(t, c, proxyConfig{NodeID: "mesh/xm/virtualNode/secure", IP: secureIP, AppPorts: map[int]int{tlsPort: appPort}})
	wl := wca.enrolProxy(t, "xm", "front", false)
	startEnvoy(t, c, proxyConfig{NodeID: "mesh/xm/virtualNode/front", IP: frontIP, SDSSocket: wl.sock, TrustDomain: td,
		XDSAddrs: []string{proxy.addr}, XDSTLS: &bootstrap.XDSTLS{CertSecret: svid.SVIDAlias, TrustSecret: td}})
	cl := newClient()
	eventually(t, 15*time.Second, cl.expectBody(fmt.Sprintf("%s:%d", frontIP, tlsPort), "secure.local", "/", nil, "secure"))
	ids := proxy.seen()
	if len(ids) == 0 || ids[0] != wl.id.String() {
		t.Fatalf("xDS clients seen %v, want %s", ids, wl.id)
	}
}

// TestSidecarEnrolAutoMTLS: `trellis sidecar --join-token` end to end in a
// mesh tagged for auto-mTLS. Both sidecars enrol with the CA, serve SDS
// to their Envoys and (front) reach xDS over mTLS; the app behind secure
// sees front's SPIFFE id.
func TestSidecarEnrolAutoMTLS(t *testing.T) {
	wca := startWorkloadCA(t, time.Hour)
	c := startTrellis(t)
	proxy := startXDSMTLSProxy(t, wca, c.srv.XDSAddr())
	secureIP, frontIP := loopbackIP(), loopbackIP()
	appPort := freePort(t, secureIP)
	a := startApp(t, "secure", secureIP, appPort)
	must[*appmesh.CreateMeshOutput](t)(c.client.CreateMesh(c.ctx, &appmesh.CreateMeshInput{
		MeshName: aws.String("sc"), Spec: &types.MeshSpec{}, Tags: autoMTLSTags}))
	c.node(t, "sc", "secure", nodeSpec(secureIP, tlsPort, types.PortProtocolHttp))
	c.serviceByNode(t, "sc", "secure.local", "secure")
	c.node(t, "sc", "front", nodeSpec("", 0, "", "secure.local"))
	token := func(node string) string {
		tok, err := wca.ca.CreateToken(t.Context(), enrol.TokenRequest{Mesh: "sc", Node: node, TTL: "1h", SingleUse: true})
		if err != nil {
			t.Fatal(err)
		}
		return tok.Token
	}
	startSidecar(t, c, "sc", "secure", secureIP, map[string]string{"app-ports": fmt.Sprintf("%d:%d", tlsPort, appPort),
		"join-token": token("secure"), "ca-endpoint": wca.url})
	front := startSidecar(t, c, "sc", "front", frontIP, map[string]string{"join-token": token("front"), "ca-endpoint": wca.url,
		"xds-mtls": "true", "xds-address": proxy.addr})
	cl := newClient()
	eventually(t, 20*time.Second, cl.expectBody(fmt.Sprintf("%s:%d", frontIP, tlsPort), "secure.local", "/", nil, "secure"))
	want := "URI=spiffe://" + td + "/mesh/sc/virtualNode/front"
	if xfcc := a.lastH.Load().Get("X-Forwarded-Client-Cert"); !strings.Contains(xfcc, want) {
		t.Fatalf("x-forwarded-client-cert %q, want %s", xfcc, want)
	}
	if ids := proxy.seen(); len(ids) == 0 {
		t.Fatal("front did not reach xDS over mTLS")
	}
	if st := front.status(t); st.Identity == nil || st.Identity.SpiffeID != "spiffe://"+td+"/mesh/sc/virtualNode/front" ||
		!st.Identity.RenewAt.Before(st.Identity.NotAfter) {
		t.Errorf("/status identity = %+v", st.Identity)
	}
	// A plaintext client is refused by secure's listener.
	if code, _, err := cl.get(fmt.Sprintf("%s:%d", secureIP, tlsPort), "secure.local", "/", nil); err == nil && code == 200 {
		t.Error("plaintext request to an auto-mTLS listener succeeded")
	}
}

// TestSidecarWithServerCA: the whole issue end to end with the real
// server: `trellis server --xds-mtls` (its built-in CA), join tokens from
// its admin API, two `trellis sidecar --join-token --xds-mtls` in an
// auto-mTLS mesh. Both are configured over authenticated xDS and carry
// traffic over mTLS with the caller's id forwarded.
func TestSidecarWithServerCA(t *testing.T) {
	c := startTrellisWith(t, server.Config{CA: server.CAConfig{XDSMTLS: true}}, nil)
	api := "http://" + c.srv.Addr()
	secureIP, frontIP := loopbackIP(), loopbackIP()
	appPort := freePort(t, secureIP)
	a := startApp(t, "secure", secureIP, appPort)
	must[*appmesh.CreateMeshOutput](t)(c.client.CreateMesh(c.ctx, &appmesh.CreateMeshInput{
		MeshName: aws.String("full"), Spec: &types.MeshSpec{}, Tags: autoMTLSTags}))
	c.node(t, "full", "secure", nodeSpec(secureIP, tlsPort, types.PortProtocolHttp))
	c.serviceByNode(t, "full", "secure.local", "secure")
	c.node(t, "full", "front", nodeSpec("", 0, "", "secure.local"))
	token := func(node string) string {
		body, _ := json.Marshal(enrol.TokenRequest{Mesh: "full", Node: node, TTL: "1h", SingleUse: true})
		resp, err := http.Post(api+enrol.AdminTokensPath, "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var tc enrol.TokenCreated
		if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&tc) != nil {
			t.Fatalf("token create: %s", resp.Status)
		}
		return tc.Token
	}
	flags := func(node string) map[string]string {
		return map[string]string{"join-token": token(node), "api-endpoint": api, "xds-mtls": "true"}
	}
	sf := flags("secure")
	sf["app-ports"] = fmt.Sprintf("%d:%d", tlsPort, appPort)
	startSidecar(t, c, "full", "secure", secureIP, sf)
	startSidecar(t, c, "full", "front", frontIP, flags("front"))
	cl := newClient()
	eventually(t, 20*time.Second, cl.expectBody(fmt.Sprintf("%s:%d", frontIP, tlsPort), "secure.local", "/", nil, "secure"))
	want := "URI=spiffe://" + td + "/mesh/full/virtualNode/front"
	if xfcc := a.lastH.Load().Get("X-Forwarded-Client-Cert"); !strings.Contains(xfcc, want) {
		t.Fatalf("x-forwarded-client-cert %q, want %s", xfcc, want)
	}
}
