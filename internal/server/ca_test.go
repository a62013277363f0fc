package server_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/appmesh"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	"github.com/trellis-mesh/trellis/internal/ca/enrol"
	"github.com/trellis-mesh/trellis/internal/server"
)

// postJSON posts v to the server and decodes the 200 answer into out.
func postJSON(t *testing.T, base, path string, v, out any) {
	t.Helper()
	b, _ := json.Marshal(v)
	resp, err := http.Post("http://"+base+path, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("POST %s: %s (%s)", path, resp.Status, resp.Header.Get("X-Amzn-ErrorType"))
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatal(err)
	}
}

// enrolNode creates a token for node and enrols a fresh key with it, as
// the sidecar does; it returns the TLS certificate and the trust bundle.
func enrolNode(t *testing.T, api, mesh, node string) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	var tok enrol.TokenCreated
	postJSON(t, api, enrol.AdminTokensPath, enrol.TokenRequest{Mesh: mesh, Node: node, TTL: "5m", SingleUse: true}, &tok)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	id := enrol.ID{TrustDomain: "trellis.local", Mesh: mesh, Kind: enrol.KindVirtualNode, Name: node}
	der, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{URIs: []*url.URL{id.URL()}}, key)
	var signed enrol.SignResponse
	postJSON(t, api, enrol.SignPath, enrol.SignRequest{CSR: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})), Token: tok.Token}, &signed)
	cert, err := tls.X509KeyPair([]byte(signed.CertificateChain), pemKey(t, key))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM([]byte(signed.TrustBundle))
	return cert, roots
}

func pemKey(t *testing.T, key *ecdsa.PrivateKey) []byte {
	b, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: b})
}

// streamCode opens an mTLS ADS stream as node and returns its firstAnswer.
func streamCode(t *testing.T, xds string, cert tls.Certificate, roots *x509.CertPool, node string) codes.Code {
	t.Helper()
	cc, err := grpc.NewClient(xds, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{
		RootCAs: roots, Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	return firstAnswer(t, cc, node)
}

// firstAnswer opens an ADS stream on cc claiming node and returns OK once
// the first response arrives (the node must exist, so that the server has
// one to send), or the code the server ended the stream with. Either comes
// without waiting for a clock: a stream is never judged accepted because
// it stayed open a while, which a slow refusal on a loaded machine also
// does. answerWait only bounds a hang.
func firstAnswer(t *testing.T, cc *grpc.ClientConn, node string) codes.Code {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), answerWait)
	defer cancel()
	st, err := discoveryv3.NewAggregatedDiscoveryServiceClient(cc).StreamAggregatedResources(ctx)
	if err == nil {
		err = st.Send(&discoveryv3.DiscoveryRequest{Node: &corev3.Node{Id: node}, TypeUrl: resourcev3.ClusterType})
	}
	if err == nil || err == io.EOF { // EOF: the server ended the stream; Recv has its status
		_, err = st.Recv()
	}
	if ctx.Err() != nil {
		t.Fatalf("stream as %s: neither a response nor a refusal within %v: %v", node, answerWait, err)
	}
	return status.Code(err)
}

// answerWait bounds one stream's wait for its first answer.
const answerWait = 30 * time.Second

// TestEnrolThenMTLSXDS: a node enrols with a join token on the API port,
// then its mTLS ADS stream is served under its own id and refused under
// another.
func TestEnrolThenMTLSXDS(t *testing.T) {
	cfg := config(t.TempDir())
	cfg.XDSAddr = "127.0.0.1:0"
	cfg.CA = server.CAConfig{XDSMTLS: true, SVIDTTL: time.Minute}
	s, err := server.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Stop() })
	// The node exists, so its accepted stream gets a first response.
	c := newClient(s.Addr())
	if _, err := c.CreateMesh(t.Context(), &appmesh.CreateMeshInput{MeshName: aws.String("shop")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateVirtualNode(t.Context(), &appmesh.CreateVirtualNodeInput{MeshName: aws.String("shop"),
		VirtualNodeName: aws.String("web"), Spec: dnsNode("web.local")}); err != nil {
		t.Fatal(err)
	}
	cert, roots := enrolNode(t, s.Addr(), "shop", "web")
	if got := streamCode(t, s.XDSAddr(), cert, roots, "mesh/shop/virtualNode/web"); got != codes.OK {
		t.Errorf("own id: %s", got)
	}
	if got := streamCode(t, s.XDSAddr(), cert, roots, "mesh/shop/virtualNode/db"); got != codes.PermissionDenied {
		t.Errorf("other id: %s, want PermissionDenied", got)
	}
	var bundle enrol.BundleResponse
	resp, err := http.Get("http://" + s.Addr() + enrol.BundlePath)
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&bundle)
	resp.Body.Close()
	if bundle.TrustDomain != "trellis.local" || !strings.Contains(bundle.TrustBundle, "BEGIN CERTIFICATE") {
		t.Errorf("bundle = %+v", bundle)
	}
}

func TestAllowUnauthenticatedOnlyOnLoopback(t *testing.T) {
	for _, tc := range []struct {
		addr string
		ok   bool
	}{{"127.0.0.1:0", true}, {"0.0.0.0:0", false}} {
		cfg := config(t.TempDir())
		cfg.XDSAddr = tc.addr
		cfg.CA.XDSAllowUnauthenticated = true
		s, err := server.Start(cfg)
		if (err == nil) != tc.ok {
			t.Errorf("%s: %v, want ok=%v", tc.addr, err, tc.ok)
		}
		if err == nil {
			s.Stop()
		}
	}
}
