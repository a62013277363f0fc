package irgen

import (
	"slices"
	"strings"

	"github.com/trellis-mesh/trellis/internal/apis/appmesh"
	"github.com/trellis-mesh/trellis/internal/ir"
	"github.com/trellis-mesh/trellis/internal/meshview"
)

// listenerTLS returns what a virtual-node listener terminates (§3.12) and
// its mode (STRICT or PERMISSIVE), or nil and "" for plaintext: no tls
// block or mode DISABLED. An ACM certificate becomes a secret the control
// plane serves over ADS under the certificate's ARN (the ACM stand-in,
// docs/acm.md); whether it was imported is the reconciler's concern.
func (t *translator) listenerTLS(l *appmesh.Listener, proto string, port uint32) (*ir.DownstreamTLS, string) {
	lt := l.Tls
	if lt == nil || lt.Mode == appmesh.TLSModeDisabled || lt.Certificate == nil {
		return nil, ""
	}
	cert, ok := listenerCertificate(lt.Certificate)
	if !ok {
		t.warnf("virtualNode %s listener %d: the certificate names no file, sds or acm source; listener TLS (%s) is not applied",
			t.node.Name, port, lt.Mode)
		return nil, ""
	}
	tls := &ir.DownstreamTLS{Certificate: cert, ALPN: alpnFor(proto)}
	if v := lt.Validation; v != nil && v.Trust != nil {
		// A validation context makes the listener require client
		// certificates (mTLS); without SANs any trusted client is accepted.
		switch {
		case v.Trust.File != nil:
			tls.Trust = &ir.CertSource{CertChainFile: v.Trust.File.CertificateChain}
		case v.Trust.Sds != nil:
			tls.Trust = &ir.CertSource{SDSSecret: v.Trust.Sds.SecretName}
		}
		tls.SANs = exactSANs(v.SubjectAlternativeNames)
	}
	return tls, lt.Mode
}

// listenerCertificate converts a file, SDS or ACM certificate; ok is
// false for an empty union.
func listenerCertificate(c *appmesh.ListenerTlsCertificate) (ir.CertSource, bool) {
	switch {
	case c.Acm != nil && c.Acm.CertificateArn != "":
		return ir.CertSource{ADSSecret: c.Acm.CertificateArn}, true
	case c.File != nil:
		return ir.CertSource{CertChainFile: c.File.CertificateChain, PrivateKeyFile: c.File.PrivateKey}, true
	case c.Sds != nil:
		return ir.CertSource{SDSSecret: c.Sds.SecretName}, true
	}
	return ir.CertSource{}, false
}

// clientPolicyTLS is the TLS client policy of one backend: its own
// clientPolicy.tls, else the node's backendDefaults (§3.12).
func clientPolicyTLS(spec *appmesh.VirtualNodeSpec, b *appmesh.VirtualServiceBackend) *appmesh.ClientPolicyTls {
	if b.ClientPolicy != nil && b.ClientPolicy.Tls != nil {
		return b.ClientPolicy.Tls
	}
	if d := spec.BackendDefaults; d != nil && d.ClientPolicy != nil {
		return d.ClientPolicy.Tls
	}
	return nil
}

// policyApplies: a policy is enforced unless enforce is false, on every
// port unless ports lists some (§3.12).
func policyApplies(p *appmesh.ClientPolicyTls, port uint32) bool {
	if p == nil || (p.Enforce != nil && !*p.Enforce) {
		return false
	}
	return len(p.Ports) == 0 || slices.Contains(p.Ports, int32(port))
}

// upstreamTLS is the TLS a caller originates towards one target listener.
// With an applicable client policy: trust and SANs validate the server,
// an optional certificate makes it mTLS. Without one, App Mesh still
// originated TLS towards a listener in STRICT or PERMISSIVE mode, without
// validating file certificates (§3.12 [UG:tls]); Trellis does the same.
func (t *translator) upstreamTLS(p *appmesh.ClientPolicyTls, target *meshview.VirtualNode, l *appmesh.Listener, proto string, port uint32) *ir.UpstreamTLS {
	name := discoveryName(target.Spec)
	if !policyApplies(p, port) {
		switch {
		case serverSpeaksTLS(l):
			return &ir.UpstreamTLS{SNI: name, ALPN: alpnFor(proto)}
		case t.autoMTLSCaller(l):
			return t.autoUpstreamTLS(name, proto)
		}
		return nil
	}
	tls := &ir.UpstreamTLS{SNI: name, ALPN: alpnFor(proto)}
	if c := p.Certificate; c != nil {
		switch {
		case c.File != nil:
			tls.Certificate = &ir.CertSource{CertChainFile: c.File.CertificateChain, PrivateKeyFile: c.File.PrivateKey}
		case c.Sds != nil:
			tls.Certificate = &ir.CertSource{SDSSecret: c.Sds.SecretName}
		}
	}
	if v := p.Validation; v != nil && v.Trust != nil {
		tls.Trust = t.clientTrust(v.Trust, target.Name, port)
		if tls.Trust != nil {
			// Without SANs the server must present its discovery name
			// (§3.12). Envoy refuses SAN checks without a trust anchor.
			tls.SANs = exactSANs(v.SubjectAlternativeNames)
			if len(tls.SANs) == 0 && name != "" {
				tls.SANs = []string{name}
			}
		}
	}
	return tls
}

// clientTrust converts a client policy trust. ACM private CAs become one
// control-plane secret named by acmTrustName, resolved by the reconciler
// to the bundles registered for them.
func (t *translator) clientTrust(tr *appmesh.TlsValidationContextTrust, target string, port uint32) *ir.CertSource {
	switch {
	case tr.File != nil:
		return &ir.CertSource{CertChainFile: tr.File.CertificateChain}
	case tr.Sds != nil:
		return &ir.CertSource{SDSSecret: tr.Sds.SecretName}
	case tr.Acm != nil && len(tr.Acm.CertificateAuthorityArns) > 0:
		return &ir.CertSource{ADSSecret: acmTrustName(tr.Acm.CertificateAuthorityArns)}
	}
	t.warnf("client policy towards %s port %d: the trust names no file, sds or acm source; the server certificate is not validated",
		target, port)
	return nil
}

// acmTrustName is the secret name of a trust in ACM private CAs: their
// ARNs joined by commas, as the spec lists them (acm.TrustName parses the
// same form; ARNs hold no comma).
func acmTrustName(arns []string) string { return strings.Join(arns, ",") }

// serverSpeaksTLS reports whether a target listener terminates TLS as
// Trellis translates it (STRICT or PERMISSIVE with a file, SDS or ACM
// certificate).
func serverSpeaksTLS(l *appmesh.Listener) bool {
	lt := l.Tls
	if lt == nil || lt.Mode == appmesh.TLSModeDisabled || lt.Certificate == nil {
		return false
	}
	_, ok := listenerCertificate(lt.Certificate)
	return ok
}

// discoveryName is the name a node's certificate is expected to carry: its
// DNS hostname, or <service>.<namespace> for Cloud Map (§3.12). It is also
// the SNI callers send.
func discoveryName(s *appmesh.VirtualNodeSpec) string {
	sd := s.ServiceDiscovery
	switch {
	case sd == nil:
		return ""
	case sd.Dns != nil:
		return sd.Dns.Hostname
	case sd.AwsCloudMap != nil:
		return sd.AwsCloudMap.ServiceName + "." + sd.AwsCloudMap.NamespaceName
	}
	return ""
}

func exactSANs(s *appmesh.SubjectAlternativeNames) []string {
	if s == nil || s.Match == nil {
		return nil
	}
	return slices.Clone(s.Match.Exact)
}

// alpnFor offers h2 for HTTP/2 protocols and nothing otherwise.
func alpnFor(proto string) []string {
	if proto == appmesh.ProtocolHTTP2 || proto == appmesh.ProtocolGRPC {
		return slices.Clone(alpnH2)
	}
	return nil
}
