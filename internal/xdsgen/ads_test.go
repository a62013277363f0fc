package xdsgen

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	secretv3 "github.com/envoyproxy/go-control-plane/envoy/service/secret/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	"github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	serverv3 "github.com/envoyproxy/go-control-plane/pkg/server/v3"
	"google.golang.org/grpc"

	"github.com/trellis-mesh/trellis/internal/freeport"
	"github.com/trellis-mesh/trellis/internal/ir"
	"github.com/trellis-mesh/trellis/internal/xdsgen/bootstrap"
	"github.com/trellis-mesh/trellis/internal/xdsgen/internal/envoytest"
)

const adsTestNode = "mesh/test/virtualNode/ads"

// TestEnvoyACKsOverADS is the dynamic counterpart of
// TestEnvoyAcceptsGoldens: a real Envoy started from bootstrap.Render
// fetches every golden translation over ADS (RDS and EDS through
// `ads: {}` as generated, SDS secrets from a local SDS socket) and must
// ACK every resource type, with no NACK. Listeners bind 127.0.0.1 port 0
// so the test never competes for the well-known mesh ports.
func TestEnvoyACKsOverADS(t *testing.T) {
	bin := envoytest.Binary(t)
	certs := writeTestCerts(t)
	for _, name := range goldenCases(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p := loadProxy(t, name)
			useCerts(p, certs)
			for i := range p.Listeners {
				p.Listeners[i].Address, p.Listeners[i].Port = "127.0.0.1", 0
			}
			r, err := Translate(p)
			if err != nil {
				t.Fatalf("Translate: %v", err)
			}
			acks := serveADS(t, r, sdsSecrets(t, p, certs))
			runEnvoy(t, bin, acks)
		})
	}
}

// ackTracker records, per type URL, whether Envoy ACKed version "1", and
// the first NACK.
type ackTracker struct {
	mu    sync.Mutex
	want  map[string]bool
	acked map[string]bool
	nack  error
	xdsAt string
	sdsAt string
}

func (a *ackTracker) onRequest(_ int64, req *discoveryv3.DiscoveryRequest) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if d := req.GetErrorDetail(); d != nil && a.nack == nil {
		a.nack = fmt.Errorf("NACK of %s: %s", req.GetTypeUrl(), d.GetMessage())
	}
	if req.GetVersionInfo() == "1" && req.GetErrorDetail() == nil {
		a.acked[req.GetTypeUrl()] = true
	}
	return nil
}

// done reports whether every wanted type is ACKed, or a NACK arrived.
func (a *ackTracker) done() (bool, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.nack != nil {
		return true, a.nack
	}
	for typ := range a.want {
		if !a.acked[typ] {
			return false, nil
		}
	}
	return true, nil
}

// serveADS serves the resources over ADS on loopback TCP and the secrets
// over SDS on a Unix socket, from one snapshot.
func serveADS(t *testing.T, r *Resources, secrets []types.Resource) *ackTracker {
	t.Helper()
	byType := map[string][]types.Resource{}
	acks := &ackTracker{want: map[string]bool{}, acked: map[string]bool{}}
	for typ, rs := range r.ByType() {
		byType[typ] = rs
		if len(rs) > 0 {
			acks.want[typ] = true
		}
	}
	byType[resource.SecretType] = secrets
	snap, err := cache.NewSnapshot("1", byType)
	if err != nil {
		t.Fatal(err)
	}
	c := cache.NewSnapshotCache(false, cache.IDHash{}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if err := c.SetSnapshot(ctx, adsTestNode, snap); err != nil {
		t.Fatal(err)
	}
	srv := serverv3.NewServer(ctx, c, serverv3.CallbackFuncs{StreamRequestFunc: acks.onRequest})
	g := grpc.NewServer()
	discoveryv3.RegisterAggregatedDiscoveryServiceServer(g, srv)
	secretv3.RegisterSecretDiscoveryServiceServer(g, srv)
	t.Cleanup(g.Stop)
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	acks.xdsAt = tcp.Addr().String()
	acks.sdsAt = filepath.Join(shortTempDir(t), "sds.sock")
	unix, err := net.Listen("unix", acks.sdsAt)
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = g.Serve(tcp) }()
	go func() { _ = g.Serve(unix) }()
	return acks
}

// shortTempDir keeps Unix socket paths under the 108-byte limit, which
// t.TempDir's long nested names can exceed.
func shortTempDir(t *testing.T) string {
	dir, err := os.MkdirTemp("", "xds")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// runEnvoy starts Envoy from a rendered bootstrap and waits for the ACKs.
func runEnvoy(t *testing.T, bin string, acks *ackTracker) {
	t.Helper()
	host, port, err := splitHostPort(acks.xdsAt)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	b, err := bootstrap.Render(bootstrap.Config{
		NodeID: adsTestNode, AdminAddress: "127.0.0.1", AdminPort: admin,
		XDSHost: host, XDSPort: port, SDSSocketPath: acks.sdsAt,
	})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "bootstrap.yaml")
	if err := os.WriteFile(cfg, b, 0o600); err != nil {
		t.Fatal(err)
	}
	out := &syncBuffer{}
	cmd := exec.Command(bin, "-c", cfg, "--disable-hot-restart", "--log-level", "warn")
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	waitForACKs(t, acks, exited, out)
}

// syncBuffer is Envoy's output, read by the test while Envoy still writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func waitForACKs(t *testing.T, acks *ackTracker, exited <-chan error, out *syncBuffer) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-exited:
			t.Fatalf("envoy exited early: %v\n%s", err, out.String())
		case <-deadline:
			acks.mu.Lock()
			defer acks.mu.Unlock()
			t.Fatalf("timed out; wanted ACKs for %v, got %v\n%s", acks.want, acks.acked, out.String())
		case <-tick.C:
			if done, err := acks.done(); done {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
		}
	}
}

// sdsSecrets serves every SDS name the IR uses: certificates as TLS
// certificate secrets, trust bundles as validation contexts.
func sdsSecrets(t *testing.T, p *ir.Proxy, c testCerts) []types.Resource {
	t.Helper()
	read := func(path string) []byte {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	inline := func(b []byte) *corev3.DataSource {
		return &corev3.DataSource{Specifier: &corev3.DataSource_InlineBytes{InlineBytes: b}}
	}
	secrets := map[string]*tlsv3.Secret{}
	add := func(s *ir.CertSource, trust bool) {
		if s == nil || s.SDSSecret == "" {
			return
		}
		sec := &tlsv3.Secret{Name: s.SDSSecret}
		if trust {
			sec.Type = &tlsv3.Secret_ValidationContext{ValidationContext: &tlsv3.CertificateValidationContext{
				TrustedCa: inline(read(c.ca)),
			}}
		} else {
			sec.Type = &tlsv3.Secret_TlsCertificate{TlsCertificate: &tlsv3.TlsCertificate{
				CertificateChain: inline(read(c.cert)), PrivateKey: inline(read(c.key)),
			}}
		}
		secrets[s.SDSSecret] = sec
	}
	for _, l := range p.Listeners {
		for _, fc := range append(l.FilterChains, derefChain(l.DefaultChain)...) {
			if fc.TLS != nil {
				add(&fc.TLS.Certificate, false)
				add(fc.TLS.Trust, true)
			}
		}
	}
	for _, cl := range p.Clusters {
		if cl.TLS != nil {
			add(cl.TLS.Certificate, false)
			add(cl.TLS.Trust, true)
		}
	}
	var out []types.Resource
	for _, s := range secrets {
		out = append(out, s)
	}
	return out
}

func derefChain(fc *ir.FilterChain) []ir.FilterChain {
	if fc == nil {
		return nil
	}
	return []ir.FilterChain{*fc}
}

func splitHostPort(addr string) (string, uint32, error) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	var port uint32
	_, err = fmt.Sscan(portStr, &port)
	return host, port, err
}

// freePort returns an unused loopback port for Envoy's admin API, picked
// by freeport below the kernel's ephemeral range, so that no outgoing
// connection takes it before Envoy binds it.
func freePort() (uint32, error) {
	port, err := freeport.Port("127.0.0.1")
	return uint32(port), err
}
