package xdsgen

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"sigs.k8s.io/yaml"

	"github.com/trellis-mesh/trellis/internal/ir"
	"github.com/trellis-mesh/trellis/internal/xdsgen/bootstrap"
	"github.com/trellis-mesh/trellis/internal/xdsgen/internal/envoytest"
)

// TestEnvoyAcceptsGoldens loads every golden translation into real Envoy
// (`envoy --mode validate`). The resources are placed in the static
// section of the bootstrap Trellis proxies start with; the only changes
// are the ones static configuration forces: routes inlined into their
// HCMs, EDS clusters turned STATIC with their load assignment, and
// certificate files pointed at generated ones, since Envoy reads them.
func TestEnvoyAcceptsGoldens(t *testing.T) {
	envoytest.Binary(t)
	certs := writeTestCerts(t)
	for _, name := range goldenCases(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p := loadProxy(t, name)
			useCerts(p, certs)
			r, err := Translate(p)
			if err != nil {
				t.Fatalf("Translate: %v", err)
			}
			b, err := staticBootstrap(r)
			if err != nil {
				t.Fatal(err)
			}
			envoytest.Validate(t, b)
		})
	}
}

// staticBootstrap renders the resources as static resources of a real
// Trellis bootstrap (with an SDS cluster, which SDS references need).
func staticBootstrap(r *Resources) ([]byte, error) {
	b, err := bootstrap.Build(bootstrap.Config{
		NodeID: "mesh/test/virtualNode/test", XDSHost: "127.0.0.1", XDSPort: 15010,
		SDSSocketPath: "/tmp/trellis-test-sds.sock",
	})
	if err != nil {
		return nil, err
	}
	routes := map[string]*routev3.RouteConfiguration{}
	for _, rc := range r.Routes {
		routes[rc.GetName()] = rc
	}
	for _, l := range r.Listeners {
		l = proto.Clone(l).(*listenerv3.Listener)
		for _, fc := range allChains(l) {
			if err := inlineRoutes(fc, routes); err != nil {
				return nil, err
			}
		}
		b.StaticResources.Listeners = append(b.StaticResources.Listeners, l)
	}
	clas := map[string]*endpointv3.ClusterLoadAssignment{}
	for _, e := range r.Endpoints {
		clas[e.GetClusterName()] = e
	}
	for _, c := range r.Clusters {
		c = proto.Clone(c).(*clusterv3.Cluster)
		if c.GetType() == clusterv3.Cluster_EDS {
			c.ClusterDiscoveryType = &clusterv3.Cluster_Type{Type: clusterv3.Cluster_STATIC}
			c.EdsClusterConfig = nil
			c.LoadAssignment = clas[c.GetName()]
		}
		b.StaticResources.Clusters = append(b.StaticResources.Clusters, c)
	}
	j, err := protojson.Marshal(b)
	if err != nil {
		return nil, err
	}
	return yaml.JSONToYAML(j)
}

// inlineRoutes replaces RDS with the route configuration itself.
func inlineRoutes(fc *listenerv3.FilterChain, routes map[string]*routev3.RouteConfiguration) error {
	for _, f := range fc.GetFilters() {
		m, err := hcmOf(f)
		if err != nil || m == nil {
			return err
		}
		m.RouteSpecifier = &hcmv3.HttpConnectionManager_RouteConfig{
			RouteConfig: routes[m.GetRds().GetRouteConfigName()],
		}
		a, err := typed(m)
		if err != nil {
			return err
		}
		f.ConfigType = &listenerv3.Filter_TypedConfig{TypedConfig: a}
	}
	return nil
}

// testCerts are PEM files Envoy can load: a CA and a leaf it signed.
type testCerts struct{ ca, cert, key string }

// useCerts points every certificate file of the IR at the generated ones.
func useCerts(p *ir.Proxy, c testCerts) {
	fix := func(s *ir.CertSource, trust bool) {
		if s == nil || s.CertChainFile == "" {
			return
		}
		if trust {
			s.CertChainFile = c.ca
			return
		}
		s.CertChainFile, s.PrivateKeyFile = c.cert, c.key
	}
	for i := range p.Listeners {
		l := &p.Listeners[i]
		chains := l.FilterChains
		if l.DefaultChain != nil {
			chains = append(chains, *l.DefaultChain)
		}
		for j := range chains {
			if t := chains[j].TLS; t != nil {
				fix(&t.Certificate, false)
				fix(t.Trust, true)
			}
		}
	}
	for i := range p.Clusters {
		if t := p.Clusters[i].TLS; t != nil {
			fix(t.Certificate, false)
			fix(t.Trust, true)
		}
	}
}

func writeTestCerts(t *testing.T) testCerts {
	t.Helper()
	dir := t.TempDir()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "trellis test ca"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "front.demo.local"},
		DNSNames:  []string{"front.demo.local"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, caTmpl, &leafKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(leafKey)
	if err != nil {
		t.Fatal(err)
	}
	c := testCerts{
		ca: filepath.Join(dir, "ca.pem"), cert: filepath.Join(dir, "cert.pem"), key: filepath.Join(dir, "key.pem"),
	}
	writePEM(t, c.ca, "CERTIFICATE", caDER)
	writePEM(t, c.cert, "CERTIFICATE", leafDER)
	writePEM(t, c.key, "EC PRIVATE KEY", keyDER)
	return c
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}
