package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/appmesh"
	"github.com/aws/aws-sdk-go-v2/service/appmesh/types"
)

// tlsMesh: front → (TLS) → secure's Envoy → secure's app. The secure node
// terminates TLS with a file certificate; front originates it per its
// client policy.
type tlsMesh struct {
	cp        *cp
	pki       *pki
	c         *client
	frontAddr string
	secureIP  string
	secure    *envoyProc
}

// handshakeStat counts TLS handshakes on the secure node's listener.
func (m *tlsMesh) handshakeStat() string {
	return fmt.Sprintf("listener.%s_%d.ssl.handshake", m.secureIP, tlsPort)
}

const tlsPort = 9443

func setupTLS(t *testing.T) *tlsMesh {
	t.Helper()
	c := startTrellis(t)
	m := &tlsMesh{cp: c, pki: newPKI(t), c: newClient(), secureIP: loopbackIP()}
	frontIP := loopbackIP()
	appPort := freePort(t, m.secureIP)
	startApp(t, "secure", m.secureIP, appPort)
	c.mesh(t, "tls", "")
	c.node(t, "tls", "secure", nodeSpec(m.secureIP, tlsPort, types.PortProtocolHttp))
	c.serviceByNode(t, "tls", "secure.local", "secure")
	c.node(t, "tls", "front", nodeSpec("", 0, "", "secure.local"))
	m.secure = startEnvoy(t, c, proxyConfig{NodeID: "mesh/tls/virtualNode/secure", IP: m.secureIP, AppPorts: map[int]int{tlsPort: appPort}})
	startEnvoy(t, c, proxyConfig{NodeID: "mesh/tls/virtualNode/front", IP: frontIP})
	m.frontAddr = fmt.Sprintf("%s:%d", frontIP, tlsPort)
	return m
}

// serverTLS turns on STRICT listener TLS on the secure node, optionally
// requiring client certificates signed by the test CA.
func (m *tlsMesh) serverTLS(t *testing.T, mutual bool) {
	t.Helper()
	cert, key := m.pki.issue(t, "secure", "secure.local", m.secureIP)
	spec := nodeSpec(m.secureIP, tlsPort, types.PortProtocolHttp)
	spec.Listeners[0].Tls = &types.ListenerTls{Mode: types.ListenerTlsModeStrict,
		Certificate: &types.ListenerTlsCertificateMemberFile{Value: types.ListenerTlsFileCertificate{CertificateChain: aws.String(cert), PrivateKey: aws.String(key)}}}
	if mutual {
		spec.Listeners[0].Tls.Validation = &types.ListenerTlsValidationContext{
			Trust: &types.ListenerTlsValidationContextTrustMemberFile{Value: types.TlsValidationContextFileTrust{CertificateChain: aws.String(m.pki.CAFile)}}}
	}
	must[*appmesh.UpdateVirtualNodeOutput](t)(m.cp.client.UpdateVirtualNode(m.cp.ctx, updateNode("tls", "secure", spec)))
}

// clientTLS sets front's client policy towards its backends.
func (m *tlsMesh) clientTLS(t *testing.T, sans []string, withCert bool) {
	t.Helper()
	spec := nodeSpec("", 0, "", "secure.local")
	pol := &types.ClientPolicyTls{Validation: &types.TlsValidationContext{
		Trust: &types.TlsValidationContextTrustMemberFile{Value: types.TlsValidationContextFileTrust{CertificateChain: aws.String(m.pki.CAFile)}}}}
	if sans != nil {
		pol.Validation.SubjectAlternativeNames = &types.SubjectAlternativeNames{Match: &types.SubjectAlternativeNameMatchers{Exact: sans}}
	}
	if withCert {
		cert, key := m.pki.issue(t, "front", "front.local")
		pol.Certificate = &types.ClientTlsCertificateMemberFile{Value: types.ListenerTlsFileCertificate{CertificateChain: aws.String(cert), PrivateKey: aws.String(key)}}
	}
	spec.BackendDefaults = &types.BackendDefaults{ClientPolicy: &types.ClientPolicy{Tls: pol}}
	must[*appmesh.UpdateVirtualNodeOutput](t)(m.cp.client.UpdateVirtualNode(m.cp.ctx, updateNode("tls", "front", spec)))
}

func (m *tlsMesh) expect(t *testing.T, wantOK bool) {
	t.Helper()
	eventually(t, 10*time.Second, func() error {
		code, body, err := m.c.get(m.frontAddr, "secure.local", "/", nil)
		if err != nil {
			return err
		}
		if ok := code == 200 && body == "secure"; ok != wantOK {
			return fmt.Errorf("got %d %q, want success=%v", code, body, wantOK)
		}
		return nil
	})
}

func TestTLSAndMTLS(t *testing.T) {
	m := setupTLS(t)
	m.expect(t, true) // plaintext end to end

	m.serverTLS(t, false)
	// As in App Mesh, a caller without a client policy still originates TLS
	// to a STRICT listener (without validating it).
	eventually(t, 10*time.Second, func() error {
		m.c.get(m.frontAddr, "secure.local", "/", nil)
		if n := m.secure.stat(t, m.handshakeStat()); n == 0 {
			return fmt.Errorf("no TLS handshake on the secure listener yet")
		}
		return nil
	})
	m.expect(t, true)
	m.clientTLS(t, []string{"secure.local"}, false)
	m.expect(t, true) // TLS validated against the CA, with a SAN check

	m.clientTLS(t, []string{"someone-else.local"}, false)
	m.expect(t, false) // SAN mismatch fails the handshake

	m.serverTLS(t, true)
	m.clientTLS(t, []string{"secure.local"}, false)
	m.expect(t, false) // mTLS required, no client certificate
	m.clientTLS(t, []string{"secure.local"}, true)
	m.expect(t, true) // mTLS
}
