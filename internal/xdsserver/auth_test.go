package xdsserver

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"log/slog"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	"github.com/trellis-mesh/trellis/internal/ca"
	"github.com/trellis-mesh/trellis/internal/ca/enrol"
	"github.com/trellis-mesh/trellis/internal/store"
	"github.com/trellis-mesh/trellis/internal/store/bolt"
)

// pki is a CA and an mTLS listener's server config for tests.
type pki struct {
	st    store.Store
	ca    *ca.CA
	roots *x509.CertPool
}

func newPKI(t testing.TB, now func() time.Time) *pki {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "ca.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	p := &pki{st: st}
	p.ca = p.caAt(t, now)
	if err := p.ca.Ensure(t.Context()); err != nil {
		t.Fatal(err)
	}
	if p.roots, err = p.ca.Roots(t.Context()); err != nil {
		t.Fatal(err)
	}
	return p
}

// caAt is another CA value over the same store with its own clock.
func (p *pki) caAt(t testing.TB, now func() time.Time) *ca.CA {
	s, _ := ca.NewAESGCM(make([]byte, ca.KeySize))
	c, err := ca.New(ca.Options{Store: p.st, Sealer: s, SVIDTTL: time.Minute, Now: now, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// cert issues a client certificate for uri from c.
func issue(t testing.TB, c *ca.CA, uri string) tls.Certificate {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	id, err := enrol.ParseID(uri)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{URIs: []*url.URL{id.URL()}}, key)
	csr, pid, err := ca.ParseCSR(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}), c.TrustDomain())
	if err != nil {
		t.Fatal(err)
	}
	iss, err := c.Sign(t.Context(), csr, pid)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{iss.Leaf.Raw}, PrivateKey: key, Leaf: iss.Leaf}
}

func (p *pki) serverCreds(t testing.TB) credentials.TransportCredentials {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	iss, err := p.ca.IssueServer(t.Context(), key.Public(), []string{"localhost"}, []net.IP{net.ParseIP("127.0.0.1")})
	if err != nil {
		t.Fatal(err)
	}
	return credentials.NewTLS(&tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{iss.Leaf.Raw}, PrivateKey: key}},
		ClientAuth:   tls.RequireAndVerifyClientCert, ClientCAs: p.roots, MinVersion: tls.VersionTLS12,
	})
}

// startAuth serves an authenticated listener until the test ends.
func startAuth(t *testing.T, p *pki, opts AuthOptions) *harness {
	t.Helper()
	h := &harness{reg: prometheus.NewRegistry(), logs: &syncBuffer{}}
	h.srv = New(Options{Logger: slog.New(slog.NewTextHandler(h.logs, nil)), Registerer: h.reg})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h.addr = ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	if opts.Authenticate == nil {
		opts.Authenticate = SPIFFEAuthenticator("trellis.local")
	}
	go func() { done <- h.srv.ServeAuthenticated(ctx, ln, p.serverCreds(t), opts) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return h
}

// openAs opens a stream with cert (nil: none) claiming node and returns
// codes.OK once the first response arrives (accepted: give the node
// resources with serveNodes first), or the code the stream ended with.
// Either comes without waiting for a clock: a stream is never judged
// accepted because it stayed open a while, which a slow refusal on a
// loaded machine also does. wait only bounds a hang.
func openAs(t *testing.T, h *harness, roots *x509.CertPool, cert *tls.Certificate, node string) codes.Code {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), wait)
	defer cancel()
	st, err := mtlsClient(t, h, roots, cert).StreamAggregatedResources(ctx)
	if err == nil {
		// A Send error (io.EOF) means the server ended the stream: Recv has its status.
		_ = st.Send(&discoveryv3.DiscoveryRequest{Node: &corev3.Node{Id: node}, TypeUrl: resourcev3.ClusterType})
		_, err = st.Recv()
	}
	if ctx.Err() != nil {
		t.Fatalf("stream as %s: neither a response nor a refusal within %v: %v", node, wait, err)
	}
	return status.Code(err)
}

// mtlsClient dials h's listener over TLS trusting roots, presenting cert
// when it is not nil; the connection closes when the test ends.
func mtlsClient(t *testing.T, h *harness, roots *x509.CertPool, cert *tls.Certificate) discoveryv3.AggregatedDiscoveryServiceClient {
	t.Helper()
	cfg := &tls.Config{RootCAs: roots, ServerName: "localhost", MinVersion: tls.VersionTLS12}
	if cert != nil {
		cfg.Certificates = []tls.Certificate{*cert}
	}
	cc, err := grpc.NewClient(h.addr, grpc.WithTransportCredentials(credentials.NewTLS(cfg)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return discoveryv3.NewAggregatedDiscoveryServiceClient(cc)
}

// serveNodes gives each node id a snapshot, so that an accepted stream
// gets a first response.
func serveNodes(t *testing.T, h *harness, ids ...string) {
	t.Helper()
	for _, id := range ids {
		if err := h.srv.SetResources(id, "v1", map[string][]types.Resource{resourcev3.ClusterType: {cluster("c1", time.Second)}}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestAuthenticatedStreams(t *testing.T) {
	var shift atomic.Int64 // the CA's clock runs this many ns behind
	shift.Store(int64(time.Hour))
	p := newPKI(t, func() time.Time { return time.Now().Add(-time.Duration(shift.Load())) })
	expired := issue(t, p.ca, "spiffe://trellis.local/mesh/shop/virtualNode/web")
	shift.Store(0)
	h := startAuth(t, p, AuthOptions{AccountID: "111122223333"})
	serveNodes(t, h, "mesh/shop/virtualNode/web", "arn:aws:appmesh:us-east-1:111122223333:mesh/shop/virtualNode/web")
	web := issue(t, p.ca, "spiffe://trellis.local/mesh/shop/virtualNode/web")
	other := newPKI(t, time.Now)
	foreign := issue(t, other.ca, "spiffe://trellis.local/mesh/shop/virtualNode/web")
	for _, tc := range []struct {
		name string
		cert *tls.Certificate
		node string
		want codes.Code
	}{
		{"own id", &web, "mesh/shop/virtualNode/web", codes.OK},
		{"own id, ARN form", &web, "arn:aws:appmesh:us-east-1:111122223333:mesh/shop/virtualNode/web", codes.OK},
		{"other node", &web, "mesh/shop/virtualNode/db", codes.PermissionDenied},
		{"other mesh", &web, "mesh/bank/virtualNode/web", codes.PermissionDenied},
		{"gateway kind", &web, "mesh/shop/virtualGateway/web", codes.PermissionDenied},
		{"other account", &web, "arn:aws:appmesh:us-east-1:999999999999:mesh/shop/virtualNode/web", codes.PermissionDenied},
		{"other owner", &web, "mesh/shop@999999999999/virtualNode/web", codes.PermissionDenied},
		{"no certificate", nil, "mesh/shop/virtualNode/web", codes.Unavailable},
		{"expired certificate", &expired, "mesh/shop/virtualNode/web", codes.Unavailable},
		{"another CA", &foreign, "mesh/shop/virtualNode/web", codes.Unavailable},
	} {
		if got := openAs(t, h, p.roots, tc.cert, tc.node); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
	if n := value(h.srv.metrics.authRefused.WithLabelValues("permission_denied").(prometheus.Metric)); n != 5 {
		t.Errorf("permission_denied refusals = %v, want 5", n)
	}
	if logs := h.logs.String(); !strings.Contains(logs, "claimed=mesh/shop/virtualNode/db") || !strings.Contains(logs, "proven=spiffe://trellis.local/mesh/shop/virtualNode/web") {
		t.Errorf("refusal not logged with both identities:\n%s", logs)
	}
}

func TestCheckClaim(t *testing.T) {
	web := NodeRef{Mesh: "shop", Kind: KindVirtualNode, Name: "web"}
	for _, tc := range []struct {
		claimed, account string
		ok               bool
	}{
		{"mesh/shop/virtualNode/web", "", true},
		{"mesh/shop/virtualNode/web", "1", true},
		{"arn:aws:appmesh:r:1:mesh/shop/virtualNode/web", "1", true},
		{"arn:aws:appmesh:r:2:mesh/shop/virtualNode/web", "1", false},
		{"arn:aws:appmesh:r:2:mesh/shop/virtualNode/web", "", true},
		{"mesh/shop@1/virtualNode/web", "1", true},
		{"mesh/shop@2/virtualNode/web", "1", false},
		{"mesh/shop/virtualNode/webx", "", false},
		{"garbage", "", false},
	} {
		if err := CheckClaim(tc.claimed, web, tc.account); (err == nil) != tc.ok {
			t.Errorf("%s (account %q): %v, want ok=%v", tc.claimed, tc.account, err, tc.ok)
		}
	}
}

// TestFirstRequestTimeout: a stream that never names its node is ended.
func TestFirstRequestTimeout(t *testing.T) {
	p := newPKI(t, time.Now)
	h := startAuth(t, p, AuthOptions{FirstRequestTimeout: 200 * time.Millisecond})
	web := issue(t, p.ca, "spiffe://trellis.local/mesh/shop/virtualNode/web")
	ctx, cancel := context.WithTimeout(t.Context(), wait)
	defer cancel()
	st, err := mtlsClient(t, h, p.roots, &web).StreamAggregatedResources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Recv(); status.Code(err) != codes.DeadlineExceeded || ctx.Err() != nil {
		t.Errorf("silent stream: %v, want the server's DeadlineExceeded", err)
	}
	// The shorter of AuthOptions' and Limits' deadlines applies (limits.go).
	if got := h.refusedBy(reasonNoRequest); got != 1 {
		t.Errorf("refused{no_request} = %v, want 1", got)
	}
}

// TestConnectionCap: connections beyond MaxConns are closed at accept,
// and counted; closing one frees a slot.
func TestConnectionCap(t *testing.T) {
	m := newMetrics(nil, slog.Default())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var open atomic.Int64
	capped := newCapListener(ln, 2, &open, m)
	accepted := make(chan net.Conn, 4)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := capped.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	var clients []net.Conn
	for range 3 {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		clients = append(clients, c)
	}
	a, b := <-accepted, <-accepted
	eventually(t, "third connection rejected", func() bool { return value(m.connsRejected) == 1 })
	if open.Load() != 2 || value(m.conns) != 2 {
		t.Errorf("open = %d (gauge %v), want 2", open.Load(), value(m.conns))
	}
	clients[2].SetReadDeadline(time.Now().Add(wait))
	if _, err := clients[2].Read(make([]byte, 1)); err == nil {
		t.Error("rejected connection is still open")
	}
	a.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	clients = append(clients, c)
	(<-accepted).Close()
	b.Close()
	ln.Close()
	<-done
	for _, c := range clients {
		c.Close()
	}
	if value(m.connsRejected) != 1 {
		t.Errorf("rejected = %v, want 1", value(m.connsRejected))
	}
}

// value reads a counter or gauge.
func value(m prometheus.Metric) float64 {
	var d dto.Metric
	if err := m.Write(&d); err != nil {
		return -1
	}
	if d.Counter != nil {
		return d.Counter.GetValue()
	}
	return d.Gauge.GetValue()
}

// TestAuthenticatedDeltaStream: the identity check covers delta streams.
func TestAuthenticatedDeltaStream(t *testing.T) {
	p := newPKI(t, time.Now)
	h := startAuth(t, p, AuthOptions{})
	web := issue(t, p.ca, "spiffe://trellis.local/mesh/shop/virtualNode/web")
	ctx, cancel := context.WithTimeout(t.Context(), wait)
	defer cancel()
	st, err := mtlsClient(t, h, p.roots, &web).DeltaAggregatedResources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Send(&discoveryv3.DeltaDiscoveryRequest{Node: &corev3.Node{Id: "mesh/shop/virtualNode/db"}, TypeUrl: resourcev3.ClusterType}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Recv(); status.Code(err) != codes.PermissionDenied {
		t.Errorf("delta stream claiming another node: %v, want PermissionDenied", err)
	}
}

// TestNodeSwitchMidStream: a stream that names its own node first and
// another one later is ended with PermissionDenied.
func TestNodeSwitchMidStream(t *testing.T) {
	p := newPKI(t, time.Now)
	h := startAuth(t, p, AuthOptions{})
	web := issue(t, p.ca, "spiffe://trellis.local/mesh/shop/virtualNode/web")
	ctx, cancel := context.WithTimeout(t.Context(), wait)
	defer cancel()
	st, err := mtlsClient(t, h, p.roots, &web).StreamAggregatedResources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, node := range []string{"mesh/shop/virtualNode/web", "mesh/shop/virtualNode/db"} {
		if err := st.Send(&discoveryv3.DiscoveryRequest{Node: &corev3.Node{Id: node}, TypeUrl: resourcev3.ClusterType}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.Recv(); status.Code(err) != codes.PermissionDenied {
		t.Errorf("stream switching node: %v, want PermissionDenied", err)
	}
}

// TestHandshakeTimeout: a connection that never completes the TLS
// handshake is closed by the server after HandshakeTimeout.
func TestHandshakeTimeout(t *testing.T) {
	p := newPKI(t, time.Now)
	h := startAuth(t, p, AuthOptions{HandshakeTimeout: 200 * time.Millisecond})
	c, err := net.Dial("tcp", h.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(wait))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("server sent data to a silent client")
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("server kept a silent connection open")
	}
}
