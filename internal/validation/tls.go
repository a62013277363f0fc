package validation

import "github.com/trellis-mesh/trellis/internal/apis/appmesh"

// tlsModes are the listener TLS modes.
var tlsModes = []string{appmesh.TLSModeStrict, appmesh.TLSModePermissive, appmesh.TLSModeDisabled}

// listenerTLS checks the TLS termination of a node or gateway listener
// (gateway shapes convert to the node ones: same members).
func (c *collector) listenerTLS(p path, t *appmesh.ListenerTls) {
	if t == nil {
		return
	}
	c.listenerCertificate(p.field("certificate"), t.Certificate)
	c.enum(p.field("mode"), t.Mode, true, tlsModes)
	c.listenerValidation(p.field("validation"), t.Validation)
}

// listenerCertificate checks the required acm|file|sds certificate union.
func (c *collector) listenerCertificate(p path, cert *appmesh.ListenerTlsCertificate) {
	if cert == nil {
		c.add(p, "is required")
		return
	}
	c.union(p, member{"acm", cert.Acm != nil}, member{"file", cert.File != nil}, member{"sds", cert.Sds != nil})
	if cert.Acm != nil {
		c.requiredString(p.field("acm").field("certificateArn"), cert.Acm.CertificateArn, 1, 0)
	}
	c.fileCertificate(p.field("file"), cert.File)
	c.sdsCertificate(p.field("sds"), cert.Sds)
}

// fileCertificate checks an optional file certificate (paths 1..255).
func (c *collector) fileCertificate(p path, f *appmesh.ListenerTlsFileCertificate) {
	if f == nil {
		return
	}
	c.requiredString(p.field("certificateChain"), f.CertificateChain, 1, 255)
	c.requiredString(p.field("privateKey"), f.PrivateKey, 1, 255)
}

// sdsCertificate checks an optional SDS certificate. The model puts no limit
// on secret names; an empty one counts as missing.
func (c *collector) sdsCertificate(p path, s *appmesh.ListenerTlsSdsCertificate) {
	if s != nil {
		c.requiredString(p.field("secretName"), s.SecretName, 1, 0)
	}
}

// listenerValidation checks an optional listener validation context, whose
// trust is file|sds only.
func (c *collector) listenerValidation(p path, v *appmesh.ListenerTlsValidationContext) {
	if v == nil {
		return
	}
	c.subjectAlternativeNames(p.field("subjectAlternativeNames"), v.SubjectAlternativeNames)
	tp := p.field("trust")
	if v.Trust == nil {
		c.add(tp, "is required")
		return
	}
	c.union(tp, member{"file", v.Trust.File != nil}, member{"sds", v.Trust.Sds != nil})
	c.fileTrust(tp.field("file"), v.Trust.File)
	c.sdsTrust(tp.field("sds"), v.Trust.Sds)
}

// clientPolicy checks an optional client policy of a backend or of backend
// defaults.
func (c *collector) clientPolicy(p path, cp *appmesh.ClientPolicy) {
	if cp != nil {
		c.clientPolicyTLS(p.field("tls"), cp.Tls)
	}
}

// clientPolicyTLS checks TLS origination to backends (node and gateway
// shapes are the same).
func (c *collector) clientPolicyTLS(p path, t *appmesh.ClientPolicyTls) {
	if t == nil {
		return
	}
	if cert := t.Certificate; cert != nil {
		cp := p.field("certificate")
		c.union(cp, member{"file", cert.File != nil}, member{"sds", cert.Sds != nil})
		c.fileCertificate(cp.field("file"), cert.File)
		c.sdsCertificate(cp.field("sds"), cert.Sds)
	}
	for i, port := range t.Ports {
		c.port(p.field("ports").index(i), port)
	}
	c.tlsValidation(p.field("validation"), t.Validation)
}

// tlsValidation checks the required validation context of a client policy,
// whose trust is acm|file|sds.
func (c *collector) tlsValidation(p path, v *appmesh.TlsValidationContext) {
	if v == nil {
		c.add(p, "is required")
		return
	}
	c.subjectAlternativeNames(p.field("subjectAlternativeNames"), v.SubjectAlternativeNames)
	tp := p.field("trust")
	if v.Trust == nil {
		c.add(tp, "is required")
		return
	}
	c.union(tp, member{"acm", v.Trust.Acm != nil}, member{"file", v.Trust.File != nil}, member{"sds", v.Trust.Sds != nil})
	if acm := v.Trust.Acm; acm != nil {
		ap := tp.field("acm").field("certificateAuthorityArns")
		if acm.CertificateAuthorityArns == nil {
			c.add(ap, "is required")
		}
		c.items(ap, len(acm.CertificateAuthorityArns), acm.CertificateAuthorityArns != nil, 1, 3)
		for i, arn := range acm.CertificateAuthorityArns {
			c.requiredString(ap.index(i), arn, 1, 0)
		}
	}
	c.fileTrust(tp.field("file"), v.Trust.File)
	c.sdsTrust(tp.field("sds"), v.Trust.Sds)
}

// fileTrust checks an optional file trust bundle (path 1..255).
func (c *collector) fileTrust(p path, f *appmesh.TlsValidationContextFileTrust) {
	if f != nil {
		c.requiredString(p.field("certificateChain"), f.CertificateChain, 1, 255)
	}
}

// sdsTrust checks an optional SDS trust bundle.
func (c *collector) sdsTrust(p path, s *appmesh.TlsValidationContextSdsTrust) {
	if s != nil {
		c.requiredString(p.field("secretName"), s.SecretName, 1, 0)
	}
}

// subjectAlternativeNames checks optional SAN matchers: match and match.exact
// are required, each name 1..254 characters. The model puts no limit on the
// list size, so an empty list is accepted.
func (c *collector) subjectAlternativeNames(p path, s *appmesh.SubjectAlternativeNames) {
	if s == nil {
		return
	}
	mp := p.field("match")
	if s.Match == nil {
		c.add(mp, "is required")
		return
	}
	ep := mp.field("exact")
	if s.Match.Exact == nil {
		c.add(ep, "is required")
	}
	for i, san := range s.Match.Exact {
		c.length(ep.index(i), san, 1, 254)
	}
}
