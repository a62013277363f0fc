package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/appmesh"
	"github.com/aws/aws-sdk-go-v2/service/appmesh/types"

	"github.com/trellis-mesh/trellis/internal/ca"
	"github.com/trellis-mesh/trellis/internal/ca/caapi"
	"github.com/trellis-mesh/trellis/internal/ca/enrol"
	"github.com/trellis-mesh/trellis/internal/store/bolt"
	"github.com/trellis-mesh/trellis/internal/svid"
)

// Issue 13, sidecar side: SVIDs from the built-in CA, enrolled over its
// HTTP API with join tokens and served to real Envoys over SDS on Unix
// sockets (internal/svid), exactly as `trellis sidecar --join-token` does.

const td = ca.DefaultTrustDomain

// workloadCA is the built-in CA with its enrolment API on loopback.
type workloadCA struct {
	url string
	ca  *ca.CA
}

func startWorkloadCA(t *testing.T, ttl time.Duration) *workloadCA {
	t.Helper()
	return startWorkloadCAWith(t, ca.Options{SVIDTTL: ttl})
}

// startWorkloadCAWith is startWorkloadCA with more CA options (its store,
// sealer and logger are filled in).
func startWorkloadCAWith(t *testing.T, opts ca.Options) *workloadCA {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "ca.db"), bolt.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sealer, _ := ca.NewAESGCM(make([]byte, ca.KeySize))
	opts.Store, opts.Sealer, opts.Logger = st, sealer, slog.New(slog.DiscardHandler)
	c, err := ca.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Ensure(context.Background()); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	caapi.Mount(mux, c, caapi.Options{Logger: slog.New(slog.DiscardHandler)})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &workloadCA{url: srv.URL, ca: c}
}

// workload is one proxy's identity: enrolled, served over SDS, and (with
// renew) renewed at half-life for as long as the test runs.
type workload struct {
	sock     string
	id       enrol.ID
	sds      *svid.SDS
	enroller *svid.Enroller
	renewals atomic.Int32
}

// enrolProxy enrols name in mesh (the SPIFFE id's mesh, which a test may
// make differ from the proxy's node id) and serves its SDS socket.
func (w *workloadCA) enrolProxy(t *testing.T, mesh, name string, renew bool) *workload {
	t.Helper()
	return w.enrolKind(t, mesh, enrol.KindVirtualNode, name, renew)
}

// enrolKind is enrolProxy for a virtual node or gateway.
func (w *workloadCA) enrolKind(t *testing.T, mesh, kind, name string, renew bool) *workload {
	t.Helper()
	tok, err := w.ca.CreateToken(context.Background(), enrol.TokenRequest{Mesh: mesh, Node: name, TTL: "1h"})
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "sds") // short: Unix socket paths are limited
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	wl := &workload{sock: filepath.Join(dir, "sds.sock"), sds: svid.NewSDS(nil),
		id: enrol.ID{TrustDomain: td, Mesh: mesh, Kind: kind, Name: name}}
	wl.enroller = &svid.Enroller{APIURL: w.url, Token: tok.Token}
	r := &svid.Renewer{Enroller: wl.enroller, ID: wl.id,
		Publish: func(i *svid.Identity) error { wl.renewals.Add(1); return wl.sds.Update(i) }}
	first, err := r.First(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	ln, err := svid.Listen(wl.sock)
	if err != nil {
		t.Fatal(err)
	}
	go func() { defer wg.Done(); _ = wl.sds.ServeListener(ctx, ln) }()
	if renew {
		wg.Add(1)
		go func() { defer wg.Done(); _ = r.Run(ctx, first) }()
	}
	t.Cleanup(func() { cancel(); wg.Wait() })
	return wl
}

// sdsMesh: front's Envoy → secure's Envoy → secure's app, each Envoy with
// its own SDS socket.
type sdsMesh struct {
	cp                  *cp
	c                   *client
	app                 *app
	frontIP, secureIP   string
	frontAddr, secAddr  string
	front, secure       *workload
	frontEnv, secureEnv *envoyProc
}

func setupSDSMesh(t *testing.T, meshTags []types.TagRef, caTTL time.Duration, renew bool) (*sdsMesh, *workloadCA) {
	t.Helper()
	wca := startWorkloadCA(t, caTTL)
	return meshOverCA(t, wca, meshTags, renew), wca
}

// meshOverCA builds setupSDSMesh's mesh with its proxies enrolled at wca.
func meshOverCA(t *testing.T, wca *workloadCA, meshTags []types.TagRef, renew bool) *sdsMesh {
	t.Helper()
	c := startTrellis(t)
	m := &sdsMesh{cp: c, c: newClient(), frontIP: loopbackIP(), secureIP: loopbackIP()}
	appPort := freePort(t, m.secureIP)
	m.app = startApp(t, "secure", m.secureIP, appPort)
	must[*appmesh.CreateMeshOutput](t)(c.client.CreateMesh(c.ctx, &appmesh.CreateMeshInput{
		MeshName: aws.String("idm"), Spec: &types.MeshSpec{}, Tags: meshTags}))
	c.node(t, "idm", "secure", nodeSpec(m.secureIP, tlsPort, types.PortProtocolHttp))
	c.serviceByNode(t, "idm", "secure.local", "secure")
	c.node(t, "idm", "front", nodeSpec("", 0, "", "secure.local"))
	m.front = wca.enrolProxy(t, "idm", "front", renew)
	m.secure = wca.enrolProxy(t, "idm", "secure", renew)
	m.secureEnv = startEnvoy(t, c, proxyConfig{NodeID: "mesh/idm/virtualNode/secure", IP: m.secureIP,
		AppPorts: map[int]int{tlsPort: appPort}, SDSSocket: m.secure.sock, TrustDomain: td})
	m.frontEnv = startEnvoy(t, c, proxyConfig{NodeID: "mesh/idm/virtualNode/front", IP: m.frontIP,
		SDSSocket: m.front.sock, TrustDomain: td})
	m.frontAddr = fmt.Sprintf("%s:%d", m.frontIP, tlsPort)
	m.secAddr = fmt.Sprintf("%s:%d", m.secureIP, tlsPort)
	return m
}

// expectCallerID waits for a request through front to reach the app with
// front's SPIFFE id in x-forwarded-client-cert.
func (m *sdsMesh) expectCallerID(t *testing.T) {
	t.Helper()
	// Until both Envoys have the mTLS configuration a request may still
	// arrive in plaintext, without the header: wait for the one that names
	// the caller.
	body := m.c.expectBody(m.frontAddr, "secure.local", "/", nil, "secure")
	var xfcc string
	eventually(t, 15*time.Second, func() error {
		if err := body(); err != nil {
			return err
		}
		xfcc = m.app.lastH.Load().Get("X-Forwarded-Client-Cert")
		if !strings.Contains(xfcc, `URI=`+m.front.id.String()) {
			return fmt.Errorf("x-forwarded-client-cert %q does not name the caller %s", xfcc, m.front.id)
		}
		return nil
	})
	t.Logf("upstream saw x-forwarded-client-cert: %s", xfcc)
}

// TestSDSSpecMTLS: App Mesh's mTLS-with-SPIRE configuration, unchanged:
// listener certificate and trust by sds secret names, client policy
// certificate, trust and SANs likewise; Trellis's SDS server stands in for
// the SPIRE agent.
func TestSDSSpecMTLS(t *testing.T) {
	m, _ := setupSDSMesh(t, nil, time.Hour, false)
	bundle := "spiffe://" + td // SPIRE's name for the bundle
	spec := nodeSpec(m.secureIP, tlsPort, types.PortProtocolHttp)
	spec.Listeners[0].Tls = &types.ListenerTls{Mode: types.ListenerTlsModeStrict,
		Certificate: &types.ListenerTlsCertificateMemberSds{Value: types.ListenerTlsSdsCertificate{SecretName: aws.String(m.secure.id.String())}},
		Validation: &types.ListenerTlsValidationContext{
			Trust: &types.ListenerTlsValidationContextTrustMemberSds{Value: types.TlsValidationContextSdsTrust{SecretName: aws.String(bundle)}},
			SubjectAlternativeNames: &types.SubjectAlternativeNames{Match: &types.SubjectAlternativeNameMatchers{
				Exact: []string{m.front.id.String()}}}}}
	must[*appmesh.UpdateVirtualNodeOutput](t)(m.cp.client.UpdateVirtualNode(m.cp.ctx, updateNode("idm", "secure", spec)))
	front := nodeSpec("", 0, "", "secure.local")
	front.BackendDefaults = &types.BackendDefaults{ClientPolicy: &types.ClientPolicy{Tls: &types.ClientPolicyTls{
		Certificate: &types.ClientTlsCertificateMemberSds{Value: types.ListenerTlsSdsCertificate{SecretName: aws.String(m.front.id.String())}},
		Validation: &types.TlsValidationContext{
			Trust: &types.TlsValidationContextTrustMemberSds{Value: types.TlsValidationContextSdsTrust{SecretName: aws.String(bundle)}},
			SubjectAlternativeNames: &types.SubjectAlternativeNames{Match: &types.SubjectAlternativeNameMatchers{
				Exact: []string{m.secure.id.String()}}}}}}}
	must[*appmesh.UpdateVirtualNodeOutput](t)(m.cp.client.UpdateVirtualNode(m.cp.ctx, updateNode("idm", "front", front)))
	m.expectCallerID(t)
	if n := m.secureEnv.stat(t, fmt.Sprintf("listener.%s_%d.ssl.handshake", m.secureIP, tlsPort)); n == 0 {
		t.Error("no TLS handshake on the secure listener")
	}
	// A plaintext client straight at the listener is refused.
	if code, _, err := m.c.get(m.secAddr, "secure.local", "/", nil); err == nil && code == 200 {
		t.Error("plaintext request to the mTLS listener succeeded")
	}
}

// autoMTLSTags opt a mesh in to auto-mTLS.
var autoMTLSTags = []types.TagRef{{Key: aws.String("trellis.io/mtls"), Value: aws.String("STRICT")}}

// TestAutoMTLS: a mesh tagged trellis.io/mtls: STRICT, specs without any
// TLS. Traffic flows over mTLS with the caller's id forwarded; a plaintext
// client is refused; a proxy whose certificate is from another mesh is
// refused.
func TestAutoMTLS(t *testing.T) {
	m, wca := setupSDSMesh(t, autoMTLSTags, time.Hour, false)
	m.expectCallerID(t)
	if code, _, err := m.c.get(m.secAddr, "secure.local", "/", nil); err == nil && code == 200 {
		t.Error("plaintext request to an auto-mTLS listener succeeded")
	}

	// intruder is a node of this mesh whose SVID names another mesh.
	m.cp.node(t, "idm", "intruder", nodeSpec("", 0, "", "secure.local"))
	wl := wca.enrolProxy(t, "other", "intruder", false)
	ip := loopbackIP()
	env := startEnvoy(t, m.cp, proxyConfig{NodeID: "mesh/idm/virtualNode/intruder", IP: ip, SDSSocket: wl.sock, TrustDomain: td})
	addr := fmt.Sprintf("%s:%d", ip, tlsPort)
	eventually(t, 15*time.Second, func() error {
		code, body, err := m.c.get(addr, "secure.local", "/", nil)
		if err == nil && code == 200 {
			return fmt.Errorf("intruder from another mesh got through: %q", body)
		}
		if !env.hasStat(t, "cluster.cds_egress_idm_secure_http_9443.ssl.connection_error") &&
			!env.hasStat(t, "cluster.cds_egress_idm_secure_http_9443.upstream_cx_connect_fail") {
			return fmt.Errorf("got %d %v; waiting for the handshake failure to show", code, err)
		}
		return nil
	})
	// The legitimate caller is unaffected.
	eventually(t, 5*time.Second, m.c.expectBody(m.frontAddr, "secure.local", "/", nil, "secure"))
}

// TestSDSRotationUnderLoad: 1-minute SVIDs renew several times on both
// sides during a steady 200 rps run through two Envoys over auto-mTLS,
// (220 offered, ~215 carried) with a CA rotation in the middle; no
// request may fail.
func TestSDSRotationUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("runs ~2 minutes")
	}
	m, wca := setupSDSMesh(t, autoMTLSTags, ca.MinSVIDTTL, true)
	m.expectCallerID(t)
	// 100 s: with renewals every ~30 s, at least 3 per side (the package
	// shares go test's 10-minute default timeout with every e2e test).
	const run = 100 * time.Second
	ctx, stop := context.WithTimeout(t.Context(), run)
	defer stop()
	l := runLoad(ctx, m.c, m.frontAddr, "secure.local", 220, 8) // ≥ 200 rps carried
	rotated := false
	for ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
		if !rotated && time.Until(deadlineOf(ctx)) < run-10*time.Second {
			if err := wca.ca.Rotate(context.Background(), false); err != nil {
				t.Fatal(err)
			}
			rotated = true
			t.Log("CA rotated")
		}
	}
	l.wait()
	fr, sr := m.front.renewals.Load()-1, m.secure.renewals.Load()-1
	t.Logf("ok=%d (%.0f rps) failed=%d renewals front=%d secure=%d",
		l.ok.Load(), float64(l.ok.Load())/run.Seconds(), l.failed.Load(), fr, sr)
	if l.failed.Load() != 0 {
		t.Errorf("%d requests failed: %v", l.failed.Load(), l.failures)
	}
	if fr < 3 || sr < 3 {
		t.Errorf("renewals front=%d secure=%d, want >= 3 each", fr, sr)
	}
}

func deadlineOf(ctx context.Context) time.Time {
	d, _ := ctx.Deadline()
	return d
}

// TestAutoMTLSMigration: a running plaintext mesh moves to auto-mTLS and
// back by its tag, off -> ACCEPT -> PERMISSIVE -> STRICT -> PERMISSIVE ->
// ACCEPT -> off, under steady load with no failed request. Each step
// changes one side only (secure's listener, or front's cluster towards
// it), and the test waits as the operator does (docs/mtls.md): every
// proxy SYNCED in /v1/proxies, the changed one at a new version. A tag
// edit leaves the spec alone, yet re-translates every proxy of the mesh.
func TestAutoMTLSMigration(t *testing.T) {
	m, _ := setupSDSMesh(t, nil, time.Hour, false)
	eventually(t, 15*time.Second, m.c.expectBody(m.frontAddr, "secure.local", "/", nil, "secure"))
	if xfcc := m.app.lastH.Load().Get("X-Forwarded-Client-Cert"); xfcc != "" {
		t.Fatalf("plaintext mesh forwarded a client cert: %q", xfcc)
	}
	ctx, stop := context.WithCancel(t.Context())
	l := runLoad(ctx, m.c, m.frontAddr, "secure.local", 100, 4)
	arn := "arn:aws:appmesh:us-west-2:123456789012:mesh/idm"
	callerSeen := func(want bool) func() error {
		return func() error {
			if got := strings.Contains(m.app.lastH.Load().Get("X-Forwarded-Client-Cert"), m.front.id.String()); got != want {
				return fmt.Errorf("caller id forwarded: %v, want %v", got, want)
			}
			return nil
		}
	}
	plaintextOK := func(want bool) func() error {
		return func() error {
			code, _, err := m.c.get(m.secAddr, "secure.local", "/", nil)
			if got := err == nil && code == 200; got != want {
				return fmt.Errorf("plaintext accepted: %v, want %v", got, want)
			}
			return nil
		}
	}
	steps := []struct {
		from, to string // "" is off (no tag)
		changed  string // the one proxy the step changes
		check    func() error
	}{
		{"", "ACCEPT", "secure", callerSeen(false)},
		{"ACCEPT", "PERMISSIVE", "front", callerSeen(true)},
		{"PERMISSIVE", "STRICT", "secure", plaintextOK(false)},
		{"STRICT", "PERMISSIVE", "secure", plaintextOK(true)},
		{"PERMISSIVE", "ACCEPT", "front", callerSeen(false)},
		{"ACCEPT", "", "secure", plaintextOK(true)},
	}
	for _, s := range steps {
		before, err := m.cp.proxyVersions("idm")
		if err != nil {
			t.Fatal(err)
		}
		m.tagMTLS(t, arn, s.to)
		m.cp.waitProxiesUpdated(t, "idm", before, s.changed)
		eventually(t, 15*time.Second, s.check)
		time.Sleep(time.Second) // the load runs through each state
		// The figures after each step name the transition a failure
		// happened in.
		t.Logf("after %q -> %q: ok=%d failed=%d", s.from, s.to, l.ok.Load(), l.failed.Load())
	}
	stop()
	l.wait()
	t.Logf("ok=%d failed=%d", l.ok.Load(), l.failed.Load())
	if l.failed.Load() != 0 {
		t.Errorf("%d requests failed during the migration: %v", l.failed.Load(), l.failures)
	}
}

// tagMTLS sets the mesh's trellis.io/mtls tag to v, or removes it for "".
func (m *sdsMesh) tagMTLS(t *testing.T, arn, v string) {
	t.Helper()
	if v == "" {
		must[*appmesh.UntagResourceOutput](t)(m.cp.client.UntagResource(m.cp.ctx, &appmesh.UntagResourceInput{
			ResourceArn: aws.String(arn), TagKeys: []string{"trellis.io/mtls"}}))
		return
	}
	must[*appmesh.TagResourceOutput](t)(m.cp.client.TagResource(m.cp.ctx, &appmesh.TagResourceInput{
		ResourceArn: aws.String(arn), Tags: []types.TagRef{{Key: aws.String("trellis.io/mtls"), Value: aws.String(v)}}}))
}

// TestAutoMTLSGateway: a virtual gateway of an auto-mTLS mesh serves its
// outside clients as its spec says (plaintext here) and calls into the
// mesh over mTLS with its own SVID, which the node's app sees.
func TestAutoMTLSGateway(t *testing.T) {
	m, wca := setupSDSMesh(t, autoMTLSTags, time.Hour, false)
	m.cp.gateway(t, "idm", "gw", gatewayPort, types.VirtualGatewayPortProtocolHttp)
	m.cp.gatewayRoute(t, "idm", "gw", "all", httpGatewayRoute(
		&types.HttpGatewayRouteMatch{Prefix: aws.String("/")}, "secure.local", nil))
	wl := wca.enrolKind(t, "idm", enrol.KindVirtualGateway, "gw", false)
	ip := loopbackIP()
	startEnvoy(t, m.cp, proxyConfig{NodeID: "mesh/idm/virtualGateway/gw", IP: ip, SDSSocket: wl.sock, TrustDomain: td})
	eventually(t, 15*time.Second, m.c.expectBody(fmt.Sprintf("%s:%d", ip, gatewayPort), publicHost, "/", nil, "secure"))
	if xfcc := m.app.lastH.Load().Get("X-Forwarded-Client-Cert"); !strings.Contains(xfcc, "URI="+wl.id.String()) {
		t.Fatalf("x-forwarded-client-cert %q does not name the gateway %s", xfcc, wl.id)
	}
}
