package irgen

import (
	"strings"

	"github.com/trellis-mesh/trellis/internal/apis/appmesh"
	"github.com/trellis-mesh/trellis/internal/ir"
	"github.com/trellis-mesh/trellis/internal/meshview"
)

// Auto-mTLS (docs/mtls.md) is Trellis's own mode, outside the App Mesh
// API: a mesh tagged MTLSTag = MTLSStrict gets mutual TLS between all its
// proxies without any TLS in the specs. Two more values are the steps of
// a migration, each changing one side only (docs/mtls.md): MTLSAccept
// (listeners accept mTLS and plaintext, callers stay plaintext), then
// MTLSPermissive (the same listeners, callers originate mTLS).
//
//   - A virtual-node listener without a tls block terminates mTLS with the
//     node's SVID (SDS secret named by its SPIFFE id), validates the client
//     against the trust bundle (SDS secret named by the trust domain) and
//     accepts only SPIFFE ids of the same mesh (URI SAN prefix
//     spiffe://<td>/mesh/<mesh>/). The app receives the caller's id in
//     x-forwarded-client-cert.
//   - A caller without an applicable client policy, towards such a
//     listener, originates mTLS with its own SVID (SDS secret
//     SVIDSecretAlias, so that the outbound part stays shared between
//     callers, see Cache) and checks the server's id the same way.
//   - Listeners and client policies with their own TLS keep App Mesh's
//     meaning. Virtual-gateway listeners face clients outside the mesh
//     and stay as their specs say; a gateway's egress originates mTLS
//     as any caller does (PERMISSIVE and STRICT).
//
// The sidecar's SDS server serves the SVID under both its SPIFFE id and
// SVIDSecretAlias, and the trust bundle under the trust domain name.
const (
	// MTLSTag is the mesh tag that turns auto-mTLS on.
	MTLSTag = "trellis.io/mtls"
	// MTLSStrict turns it on (case-insensitive): listeners accept mTLS
	// only.
	MTLSStrict = "STRICT"
	// MTLSAccept is the first migration step: listeners accept mTLS and
	// plaintext (as in PERMISSIVE), callers, gateways included, keep
	// sending plaintext. Only listeners change from off to ACCEPT.
	MTLSAccept = "ACCEPT"
	// MTLSPermissive is the second migration step: listeners as in
	// ACCEPT, callers originate mTLS. Only callers change from ACCEPT to
	// PERMISSIVE, and only listeners from PERMISSIVE to STRICT, so a mesh
	// moves off -> ACCEPT -> PERMISSIVE -> STRICT (and back) without a
	// failed request when the proxies update between steps.
	MTLSPermissive = "PERMISSIVE"
	// DefaultTrustDomain is the trust domain when the proxy names none
	// (the CA's default).
	DefaultTrustDomain = "trellis.local"
	// SVIDSecretAlias is the SDS name under which a sidecar also serves
	// its own SVID.
	SVIDSecretAlias = "default"
)

// AutoMTLS reports whether a mesh is tagged for auto-mTLS.
func AutoMTLS(mesh *meshview.Mesh) bool { return autoMTLSMode(mesh) != "" }

// autoMTLSMode is the mesh's auto-mTLS mode: STRICT, PERMISSIVE, ACCEPT,
// or "" when off (no tag, or another value).
func autoMTLSMode(mesh *meshview.Mesh) string {
	if mesh == nil || mesh.Resource == nil {
		return ""
	}
	for _, t := range mesh.Resource.Tags {
		if t.Key != MTLSTag {
			continue
		}
		switch v := strings.ToUpper(strings.TrimSpace(t.Value)); v {
		case MTLSStrict, MTLSPermissive, MTLSAccept:
			return v
		}
	}
	return ""
}

// SPIFFEID is the SPIFFE id of a proxy: spiffe://<td>/mesh/<mesh>/<kind>/<name>
// with kind virtualNode or virtualGateway.
func SPIFFEID(trustDomain, mesh, kind, name string) string {
	return MeshIDPrefix(trustDomain, mesh) + kind + "/" + name
}

// MeshIDPrefix is the prefix every SPIFFE id of a mesh starts with.
func MeshIDPrefix(trustDomain, mesh string) string {
	return "spiffe://" + trustDomain + "/mesh/" + mesh + "/"
}

// trustDomain is the proxy's trust domain (Options.TrustDomain or the
// default).
func (t *translator) trustDomain() string {
	if t.opts.TrustDomain != "" {
		return t.opts.TrustDomain
	}
	return DefaultTrustDomain
}

// selfID is the SPIFFE id of the proxy being translated.
func (t *translator) selfID() string {
	kind := KindVirtualNode
	if t.node.Resource != nil && t.node.Resource.Kind == appmesh.KindVirtualGateway {
		kind = KindVirtualGateway
	}
	return SPIFFEID(t.trustDomain(), t.mesh.Name, kind, t.node.Name)
}

// autoListenerTLS is the mTLS an auto-mTLS listener without a tls block
// terminates, and its listener mode: STRICT, or PERMISSIVE (mTLS and
// plaintext) for the mesh modes PERMISSIVE and ACCEPT.
func (t *translator) autoListenerTLS(proto string) (*ir.DownstreamTLS, string) {
	td := t.trustDomain()
	return &ir.DownstreamTLS{
		Certificate:  ir.CertSource{SDSSecret: t.selfID()},
		Trust:        &ir.CertSource{SDSSecret: td},
		URISANPrefix: MeshIDPrefix(td, t.mesh.Name),
		ALPN:         alpnFor(proto),
	}, listenerMode(autoMTLSMode(t.mesh))
}

// listenerMode is the listener TLS mode of a mesh auto-mTLS mode.
func listenerMode(mode string) string {
	if mode == MTLSAccept {
		return appmesh.TLSModePermissive
	}
	return mode
}

// autoUpstreamTLS is the mTLS a caller originates towards an auto-mTLS
// listener.
func (t *translator) autoUpstreamTLS(sni, proto string) *ir.UpstreamTLS {
	td := t.trustDomain()
	return &ir.UpstreamTLS{
		SNI:          sni,
		Certificate:  &ir.CertSource{SDSSecret: SVIDSecretAlias},
		Trust:        &ir.CertSource{SDSSecret: td},
		URISANPrefix: MeshIDPrefix(td, t.mesh.Name),
		ALPN:         alpnFor(proto),
	}
}

// autoMTLSListener reports whether a virtual-node listener is served with
// auto-mTLS: the mesh opted in and the listener has no tls block.
func (t *translator) autoMTLSListener(l *appmesh.Listener) bool {
	return l.Tls == nil && AutoMTLS(t.mesh)
}

// autoMTLSCaller reports whether a caller originates auto-mTLS towards a
// target listener: the listener is served with auto-mTLS and the mesh is
// past the ACCEPT step (PERMISSIVE or STRICT).
func (t *translator) autoMTLSCaller(l *appmesh.Listener) bool {
	if l.Tls != nil {
		return false
	}
	m := autoMTLSMode(t.mesh)
	return m == MTLSStrict || m == MTLSPermissive
}
