package e2e

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/appmesh"
	"github.com/aws/aws-sdk-go-v2/service/appmesh/types"

	"github.com/trellis-mesh/trellis/internal/acm"
	"github.com/trellis-mesh/trellis/internal/acm/acmtest"
)

const (
	e2eCertARN = "arn:aws:acm:us-west-2:123456789012:certificate/secure-local"
	e2eCAARN   = "arn:aws:acm-pca:us-west-2:123456789012:certificate-authority/tls-test"
)

// acmPost calls the ACM stand-in's admin API of the test's server.
func (m *tlsMesh) acmPost(t *testing.T, path string, body any) {
	t.Helper()
	acmPost(t, m.cp, path, body)
}

func acmPost(t *testing.T, c *cp, path string, body any) {
	t.Helper()
	b, _ := json.Marshal(body)
	resp, err := http.Post("http://"+c.srv.Addr()+path, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var e acm.ErrorBody
		_ = json.NewDecoder(resp.Body).Decode(&e)
		t.Fatalf("POST %s: %d %s", path, resp.StatusCode, e.Message)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestACMCertificates: the secure node's listener names an ACM certificate
// ARN and front's client policy trusts an ACM-PCA ARN, the App Mesh
// walkthrough's specs unchanged. With the certificate imported and the
// CA's bundle registered in Trellis, Envoy gets both over SDS on its ADS
// stream, the secure listener serves TLS and front accepts it; a
// certificate from another CA imported under the same ARN reaches Envoy
// live and front rejects it; the right one restores traffic.
func TestACMCertificates(t *testing.T) {
	m := setupTLS(t)
	m.expect(t, true)
	cert, key := m.pki.issue(t, "secure", "secure.local", m.secureIP)
	m.acmPost(t, acm.PathCAs, acm.RegisterCARequest{ARN: e2eCAARN, Bundle: readFile(t, m.pki.CAFile)})
	m.acmPost(t, acm.PathCertificates, acm.ImportRequest{ARN: e2eCertARN, Certificate: readFile(t, cert), PrivateKey: readFile(t, key)})

	m.secureOnACM(t)
	front := m.frontTrustsACMCA(t)
	m.expect(t, true) // TLS with the imported certificate, validated against the registered CA

	rogue := acmtest.NewCA(t, "rogue")
	rc, rk := rogue.Leaf(t, "secure.local")
	m.acmPost(t, acm.PathCertificates, acm.ImportRequest{ARN: e2eCertARN, Certificate: string(rc), PrivateKey: string(rk)})
	m.expectServed(t, rc) // pushed live to the secure Envoy
	// front's pooled connections keep their handshake; a client policy
	// edit replaces its cluster, so the next requests handshake anew.
	front.BackendDefaults.ClientPolicy.Tls.Validation.SubjectAlternativeNames.Match.Exact = []string{"secure.local", "alt.local"}
	must[*appmesh.UpdateVirtualNodeOutput](t)(m.cp.client.UpdateVirtualNode(m.cp.ctx, updateNode("tls", "front", front)))
	m.expect(t, false) // the server presents a certificate of another CA: rejected

	m.acmPost(t, acm.PathCertificates, acm.ImportRequest{ARN: e2eCertARN, Certificate: readFile(t, cert), PrivateKey: readFile(t, key)})
	m.expectServed(t, []byte(readFile(t, cert)))
	m.expect(t, true)
}

// secureOnACM gives the secure node's listener STRICT TLS with the ACM
// certificate e2eCertARN.
func (m *tlsMesh) secureOnACM(t *testing.T) {
	t.Helper()
	spec := nodeSpec(m.secureIP, tlsPort, types.PortProtocolHttp)
	spec.Listeners[0].Tls = &types.ListenerTls{Mode: types.ListenerTlsModeStrict,
		Certificate: &types.ListenerTlsCertificateMemberAcm{Value: types.ListenerTlsAcmCertificate{CertificateArn: aws.String(e2eCertARN)}}}
	must[*appmesh.UpdateVirtualNodeOutput](t)(m.cp.client.UpdateVirtualNode(m.cp.ctx, updateNode("tls", "secure", spec)))
}

// frontTrustsACMCA makes the front node validate secure.local against the
// registered ACM CA e2eCAARN, and waits for the first TLS handshake on the
// secure listener. It returns the front node's spec.
func (m *tlsMesh) frontTrustsACMCA(t *testing.T) *types.VirtualNodeSpec {
	t.Helper()
	front := nodeSpec("", 0, "", "secure.local")
	front.BackendDefaults = &types.BackendDefaults{ClientPolicy: &types.ClientPolicy{Tls: &types.ClientPolicyTls{
		Validation: &types.TlsValidationContext{
			Trust:                   &types.TlsValidationContextTrustMemberAcm{Value: types.TlsValidationContextAcmTrust{CertificateAuthorityArns: []string{e2eCAARN}}},
			SubjectAlternativeNames: &types.SubjectAlternativeNames{Match: &types.SubjectAlternativeNameMatchers{Exact: []string{"secure.local"}}},
		}}}}
	must[*appmesh.UpdateVirtualNodeOutput](t)(m.cp.client.UpdateVirtualNode(m.cp.ctx, updateNode("tls", "front", front)))
	eventually(t, 20*time.Second, func() error {
		m.c.get(m.frontAddr, "secure.local", "/", nil)
		if n := m.secure.stat(t, m.handshakeStat()); n == 0 {
			return fmt.Errorf("no TLS handshake on the secure listener yet")
		}
		return nil
	})
	return front
}

// expectServed waits until the secure listener presents the PEM leaf.
func (m *tlsMesh) expectServed(t *testing.T, leafPEM []byte) {
	t.Helper()
	blk, _ := pem.Decode(leafPEM)
	eventually(t, 10*time.Second, func() error {
		conn, err := tls.Dial("tcp", fmt.Sprintf("%s:%d", m.secureIP, tlsPort), &tls.Config{InsecureSkipVerify: true, ServerName: "secure.local"})
		if err != nil {
			return err
		}
		defer conn.Close()
		if got := conn.ConnectionState().PeerCertificates[0].Raw; !bytes.Equal(got, blk.Bytes) {
			return fmt.Errorf("the secure listener still presents another certificate")
		}
		return nil
	})
}

// TestACMUnimportedARN: a STRICT listener naming an ACM ARN nothing is
// imported under serves neither plaintext nor TLS (Envoy gives up waiting
// for the secret after its initial fetch timeout), and importing the
// certificate later brings it up live.
func TestACMUnimportedARN(t *testing.T) {
	m := setupTLS(t)
	m.expect(t, true)
	m.secureOnACM(t)
	addr := fmt.Sprintf("%s:%d", m.secureIP, tlsPort)
	eventually(t, 40*time.Second, func() error {
		if code, _, err := m.c.get(addr, "secure.local", "/", nil); err == nil && code == 200 {
			return fmt.Errorf("the listener still serves plaintext")
		}
		if conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true}); err == nil {
			conn.Close()
			return fmt.Errorf("the listener completed a TLS handshake without its certificate")
		}
		return nil
	})
	m.expect(t, false)

	cert, key := m.pki.issue(t, "secure", "secure.local", m.secureIP)
	m.acmPost(t, acm.PathCertificates, acm.ImportRequest{ARN: e2eCertARN, Certificate: readFile(t, cert), PrivateKey: readFile(t, key)})
	m.expectServed(t, []byte(readFile(t, cert)))
	m.expect(t, true) // front originates TLS to a STRICT listener, as App Mesh did
}

// TestACMGatewayListener: a virtual gateway listener naming an ACM
// certificate ARN serves HTTPS with the imported certificate, which a
// client trusting the CA verifies for the gateway's public name.
func TestACMGatewayListener(t *testing.T) {
	m := setupGateway(t)
	ca := acmtest.NewCA(t, "gateway CA")
	cert, key := ca.Leaf(t, publicHost)
	const arn = "arn:aws:acm:us-west-2:123456789012:certificate/gateway"
	acmPost(t, m.cp, acm.PathCertificates, acm.ImportRequest{ARN: arn, Certificate: string(cert), PrivateKey: string(key)})
	must[*appmesh.UpdateVirtualGatewayOutput](t)(m.cp.client.UpdateVirtualGateway(m.cp.ctx, &appmesh.UpdateVirtualGatewayInput{
		MeshName: aws.String("color"), VirtualGatewayName: aws.String("gateway"),
		Spec: &types.VirtualGatewaySpec{Listeners: []types.VirtualGatewayListener{{
			PortMapping: &types.VirtualGatewayPortMapping{Port: aws.Int32(gatewayPort), Protocol: types.VirtualGatewayPortProtocolHttp},
			Tls: &types.VirtualGatewayListenerTls{Mode: types.VirtualGatewayListenerTlsModeStrict,
				Certificate: &types.VirtualGatewayListenerTlsCertificateMemberAcm{Value: types.VirtualGatewayListenerTlsAcmCertificate{CertificateArn: aws.String(arn)}}},
		}}}}))
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.CertPEM)
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: publicHost}, DisableKeepAlives: true}}
	eventually(t, 20*time.Second, func() error {
		req, _ := http.NewRequest("GET", "https://"+m.addr+"/rewrite/path/blue", nil)
		req.Host = publicHost
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || string(b) != "blue" {
			return fmt.Errorf("got %d %q", resp.StatusCode, b)
		}
		return nil
	})
}

// TestACMRequestedCertificate: `trellis acm request`'s API has the
// built-in CA issue the secure listener's certificate under its ACM ARN;
// with the CA's bundle registered under an ACM-PCA ARN, front validates
// it, through real Envoy.
func TestACMRequestedCertificate(t *testing.T) {
	m := setupTLS(t)
	m.expect(t, true)
	resp, err := http.Get("http://" + m.cp.srv.Addr() + "/v1/ca/bundle")
	if err != nil {
		t.Fatal(err)
	}
	var b struct {
		TrustBundle string `json:"trustBundle"`
	}
	err = json.NewDecoder(resp.Body).Decode(&b)
	resp.Body.Close()
	if err != nil || b.TrustBundle == "" {
		t.Fatalf("CA bundle: %v", err)
	}
	m.acmPost(t, acm.PathCAs, acm.RegisterCARequest{ARN: e2eCAARN, Bundle: b.TrustBundle})
	m.acmPost(t, acm.PathRequests, acm.RequestRequest{ARN: e2eCertARN, Domains: []string{"secure.local"}})
	m.secureOnACM(t)
	m.frontTrustsACMCA(t)
	m.expect(t, true)
}
