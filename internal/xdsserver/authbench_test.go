package xdsserver

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
)

// BenchmarkConnectPlain and BenchmarkConnectMTLS measure what a proxy's
// (re)connection costs the server and client together: a new connection,
// (the mTLS handshake and identity check,) an ADS stream and its first
// response (CDS). The difference is the price of authenticated xDS.
func BenchmarkConnectPlain(b *testing.B) {
	h := benchServer(b, nil)
	benchConnect(b, h.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
}

func BenchmarkConnectMTLS(b *testing.B) {
	p := newPKI(b, time.Now)
	h := benchServer(b, p)
	web := issue(b, p.ca, "spiffe://trellis.local/mesh/m/virtualNode/n")
	benchConnect(b, h.addr, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{
		RootCAs: p.roots, ServerName: "localhost", Certificates: []tls.Certificate{web}, MinVersion: tls.VersionTLS12})))
}

func benchServer(b *testing.B, p *pki) *harness {
	h := &harness{}
	h.srv = New(Options{Logger: slog.New(slog.DiscardHandler)})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	h.addr = ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	if p == nil {
		go func() { done <- h.srv.Serve(ctx, ln) }()
	} else {
		creds := p.serverCreds(b)
		go func() {
			done <- h.srv.ServeAuthenticated(ctx, ln, creds, AuthOptions{Authenticate: SPIFFEAuthenticator("trellis.local")})
		}()
	}
	b.Cleanup(func() { cancel(); <-done })
	if err := h.srv.SetResources("mesh/m/virtualNode/n", "v1", map[string][]types.Resource{resourcev3.ClusterType: {cluster("c1", time.Second)}}); err != nil {
		b.Fatal(err)
	}
	return h
}

func benchConnect(b *testing.B, addr string, creds grpc.DialOption) {
	for b.Loop() {
		cc, err := grpc.NewClient(addr, creds)
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		st, err := discoveryv3.NewAggregatedDiscoveryServiceClient(cc).StreamAggregatedResources(ctx)
		if err == nil {
			err = st.Send(&discoveryv3.DiscoveryRequest{Node: &corev3.Node{Id: "mesh/m/virtualNode/n"}, TypeUrl: resourcev3.ClusterType})
		}
		if err == nil {
			_, err = st.Recv()
		}
		cancel()
		cc.Close()
		if err != nil {
			b.Fatal(err)
		}
	}
}
