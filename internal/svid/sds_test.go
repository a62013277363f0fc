package svid

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	secretv3 "github.com/envoyproxy/go-control-plane/envoy/service/secret/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/trellis-mesh/trellis/internal/ca/enrol"
)

// TestSDSServesAndPushes: Envoy's view of the SDS socket. The secrets are
// served under every name; an Update reaches an open stream without a new
// request.
func TestSDSServesAndPushes(t *testing.T) {
	srv, c := newCA(t, time.Hour)
	e := &Enroller{APIURL: srv.URL, Token: token(t, c, "demo", "*", false)}
	id := nodeID("demo", "front")
	first, err := e.Enrol(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	sds := NewSDS(nil)
	if err := sds.Update(first); err != nil {
		t.Fatal(err)
	}
	stream, names := sdsStream(t, sds, id)
	got := recvSecrets(t, stream, names)
	if len(got) != 4 {
		t.Fatalf("got %d secrets, want 4", len(got))
	}
	for _, n := range names[:2] {
		if string(got[n].GetTlsCertificate().GetCertificateChain().GetInlineBytes()) != string(first.ChainPEM) {
			t.Errorf("%s: not the SVID", n)
		}
	}
	for _, n := range names[2:] {
		if string(got[n].GetValidationContext().GetTrustedCa().GetInlineBytes()) != string(first.BundlePEM) {
			t.Errorf("%s: not the bundle", n)
		}
	}
	// ACK, then rotate: the new certificate is pushed.
	second, err := e.Enrol(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if err := sds.Update(second); err != nil {
		t.Fatal(err)
	}
	got = recvSecrets(t, stream, names)
	if string(got[id.String()].GetTlsCertificate().GetPrivateKey().GetInlineBytes()) != string(second.KeyPEM) {
		t.Error("rotation not pushed")
	}
}

// sdsStream serves sds on a socket and opens a stream asking for id's
// secrets, until the test ends.
func sdsStream(t *testing.T, sds *SDS, id enrol.ID) (secretv3.SecretDiscoveryService_StreamSecretsClient, []string) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "sds.sock")
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	ln, err := Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	go func() { defer wg.Done(); _ = sds.ServeListener(ctx, ln) }()
	t.Cleanup(func() { cancel(); wg.Wait() })
	conn, err := grpc.NewClient("unix://"+sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(scancel)
	stream, err := secretv3.NewSecretDiscoveryServiceClient(conn).StreamSecrets(sctx)
	if err != nil {
		t.Fatal(err)
	}
	names := []string{id.String(), SVIDAlias, "trellis.local", "spiffe://trellis.local"}
	if err := stream.Send(&discoveryv3.DiscoveryRequest{TypeUrl: resourcev3.SecretType, ResourceNames: names}); err != nil {
		t.Fatal(err)
	}
	return stream, names
}

func recvSecrets(t *testing.T, stream secretv3.SecretDiscoveryService_StreamSecretsClient, names []string) map[string]*tlsv3.Secret {
	t.Helper()
	resp, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*tlsv3.Secret{}
	for _, a := range resp.Resources {
		s := &tlsv3.Secret{}
		if err := a.UnmarshalTo(s); err != nil {
			t.Fatal(err)
		}
		out[s.Name] = s
	}
	if err := stream.Send(&discoveryv3.DiscoveryRequest{TypeUrl: resourcev3.SecretType, VersionInfo: resp.VersionInfo,
		ResponseNonce: resp.Nonce, ResourceNames: names}); err != nil {
		t.Fatal(err)
	}
	return out
}
