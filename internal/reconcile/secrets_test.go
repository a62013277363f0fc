package reconcile

import (
	"bytes"
	"context"
	"testing"
	"time"

	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"

	"github.com/trellis-mesh/trellis/internal/acm"
	"github.com/trellis-mesh/trellis/internal/acm/acmtest"
	"github.com/trellis-mesh/trellis/internal/apis/appmesh"
	"github.com/trellis-mesh/trellis/internal/ir"
	"github.com/trellis-mesh/trellis/internal/manager"
	"github.com/trellis-mesh/trellis/internal/xdsgen"
)

const (
	testCertARN = "arn:aws:acm:us-west-2:123456789012:certificate/secure"
	testCAARN   = "arn:aws:acm-pca:us-west-2:123456789012:certificate-authority/ca"
)

// TestACMSecrets: a node whose listener names an ACM certificate and whose
// backends trust an ACM private CA gets those secrets on its snapshot once
// they are imported, a replaced certificate live, and nothing for them
// before (its other resources are published all the same). Other nodes
// get none.
func TestACMSecrets(t *testing.T) {
	m := newTestMesh(t, 2, 1)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := m.mgr.Create(ctx, secureNode()); err != nil {
		t.Fatal(err)
	}
	m.sync(ctx, t)
	sealer := acmtest.Sealer(t)
	secrets := acm.NewSecrets(m.st, sealer, quietLogger())
	sdone := make(chan error, 1)
	sctx, stop := context.WithCancel(context.Background())
	go func() { sdone <- secrets.Run(sctx) }()
	t.Cleanup(func() { stop(); <-sdone })

	xds := newFakeXDS()
	runReconciler(t, New(m.view, xds, Options{Logger: quietLogger(), Secrets: secrets}))
	const id = "mesh/bench/virtualNode/secure"
	const other = "mesh/bench/virtualNode/client-0"
	xds.set(id, id, true, false)
	xds.set(other, other, true, false)
	eventually(t, "configured without secrets", func() bool {
		s, ok := xds.snap(id)
		return ok && len(s.resources[xdsgen.SecretType]) == 0
	})

	store := acm.NewStore(m.st, sealer)
	ca := acmtest.NewCA(t, "ca")
	cert1, key1 := ca.Leaf(t, "secure.bench.local")
	if _, err := store.Import(ctx, testCertARN, cert1, key1, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := store.RegisterCA(ctx, testCAARN, ca.CertPEM); err != nil {
		t.Fatal(err)
	}
	eventually(t, "certificate and trust delivered", func() bool { return secretChain(xds, id) != nil && len(secretsOf(xds, id)) == 2 })
	if !bytes.Equal(secretChain(xds, id), cert1) {
		t.Fatal("wrong certificate")
	}
	if n := len(secretsOf(xds, other)); n != 0 {
		t.Fatalf("a node that references no ACM ARN got %d secrets", n)
	}
	cert2, key2 := ca.Leaf(t, "secure.bench.local")
	if _, err := store.Import(ctx, testCertARN, cert2, key2, nil); err != nil {
		t.Fatal(err)
	}
	eventually(t, "replaced certificate pushed", func() bool { return bytes.Equal(secretChain(xds, id), cert2) })
}

func secretsOf(xds *fakeXDS, id string) map[string]*tlsv3.Secret {
	s, _ := xds.snap(id)
	out := map[string]*tlsv3.Secret{}
	for _, r := range s.resources[xdsgen.SecretType] {
		sec := r.(*tlsv3.Secret)
		out[sec.GetName()] = sec
	}
	return out
}

func secretChain(xds *fakeXDS, id string) []byte {
	return secretsOf(xds, id)[testCertARN].GetTlsCertificate().GetCertificateChain().GetInlineBytes()
}

func secureNode() manager.CreateInput {
	return manager.CreateInput{
		ID: appmesh.Identity{Kind: appmesh.KindVirtualNode, Mesh: "bench", Name: "secure"},
		Spec: &appmesh.VirtualNodeSpec{
			Listeners: []appmesh.Listener{{
				PortMapping: &appmesh.PortMapping{Port: 8443, Protocol: appmesh.ProtocolHTTP},
				Tls: &appmesh.ListenerTls{Mode: appmesh.TLSModeStrict, Certificate: &appmesh.ListenerTlsCertificate{
					Acm: &appmesh.ListenerTlsAcmCertificate{CertificateArn: testCertARN}}},
			}},
			ServiceDiscovery: &appmesh.ServiceDiscovery{Dns: &appmesh.DnsServiceDiscovery{Hostname: "secure.bench.local"}},
			Backends:         []appmesh.Backend{{VirtualService: &appmesh.VirtualServiceBackend{VirtualServiceName: "svc-0.bench.local"}}},
			BackendDefaults: &appmesh.BackendDefaults{ClientPolicy: &appmesh.ClientPolicy{Tls: &appmesh.ClientPolicyTls{
				Validation: &appmesh.TlsValidationContext{Trust: &appmesh.TlsValidationContextTrust{
					Acm: &appmesh.TlsValidationContextAcmTrust{CertificateAuthorityArns: []string{testCAARN}}}}}}},
		},
	}
}

// fakeSecrets resolves from a map.
type fakeSecrets map[string]acm.Material

func (f fakeSecrets) Lookup(name string) (acm.Material, bool) { m, ok := f[name]; return m, ok }
func (f fakeSecrets) Next(ctx context.Context) error          { <-ctx.Done(); return ctx.Err() }

// TestSecretsFor: each referenced name once, resolved ones as secrets of
// their kind, the others as warnings; the fingerprint follows the material.
func TestSecretsFor(t *testing.T) {
	ca := acmtest.NewCA(t, "ca")
	cert, key := ca.Leaf(t, "a.local")
	parts := []*ir.Proxy{
		{Listeners: []ir.Listener{{FilterChains: []ir.FilterChain{{TLS: &ir.DownstreamTLS{Certificate: ir.CertSource{ADSSecret: testCertARN}}}}}}},
		{Clusters: []ir.Cluster{
			{TLS: &ir.UpstreamTLS{Trust: &ir.CertSource{ADSSecret: testCAARN}}},
			{TLS: &ir.UpstreamTLS{Trust: &ir.CertSource{ADSSecret: testCAARN}}},
			{TLS: &ir.UpstreamTLS{Trust: &ir.CertSource{ADSSecret: "arn:aws:acm-pca:us-west-2:123456789012:certificate-authority/gone"}}},
			{TLS: &ir.UpstreamTLS{Trust: &ir.CertSource{CertChainFile: "/ca.pem"}}},
		}},
	}
	src := fakeSecrets{testCertARN: {Chain: cert, Key: key}, testCAARN: {Bundle: ca.CertPEM}}
	r := &Reconciler{secrets: src}
	got, err := r.secretsFor(parts)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.res) != 2 || len(got.missing) != 1 || len(got.warnings()) != 1 {
		t.Fatalf("%d secrets, missing %v", len(got.res), got.missing)
	}
	if got.res[0].(*tlsv3.Secret).GetTlsCertificate() == nil || got.res[1].(*tlsv3.Secret).GetValidationContext() == nil {
		t.Fatal("secrets of the wrong kind")
	}
	cert2, key2 := ca.Leaf(t, "a.local")
	src[testCertARN] = acm.Material{Chain: cert2, Key: key2}
	again, err := r.secretsFor(parts)
	if err != nil || again.fp == got.fp {
		t.Fatalf("fingerprint unchanged after a replacement (err %v)", err)
	}
	if none, _ := (&Reconciler{}).secretsFor(parts); len(none.res) != 0 || len(none.missing) != 0 {
		t.Fatal("without a secret source nothing is resolved")
	}
}
