package xdsgen

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/trellis-mesh/trellis/internal/ir"
	"github.com/trellis-mesh/trellis/internal/xdsgen/bootstrap"
)

const tlsSocketName = "envoy.transport_sockets.tls"

// downstreamTLSSocket terminates TLS on a listener chain. A trust bundle
// turns it into mTLS: the client must present a certificate it validates.
func downstreamTLSSocket(t *ir.DownstreamTLS) (*corev3.TransportSocket, error) {
	common, err := commonTLS(&t.Certificate, t.Trust, sanMatchers(t.SANs, t.URISANPrefix), t.ALPN)
	if err != nil {
		return nil, fmt.Errorf("downstream tls: %w", err)
	}
	ctx := &tlsv3.DownstreamTlsContext{CommonTlsContext: common}
	if t.Trust != nil {
		ctx.RequireClientCertificate = wrapperspb.Bool(true)
	}
	return transportSocket(ctx)
}

// upstreamTLSSocket originates TLS towards a cluster. Without a trust
// bundle the server certificate is not verified, which is what App Mesh
// did for file certificates without a client policy.
func upstreamTLSSocket(t *ir.UpstreamTLS) (*corev3.TransportSocket, error) {
	common, err := commonTLS(t.Certificate, t.Trust, sanMatchers(t.SANs, t.URISANPrefix), t.ALPN)
	if err != nil {
		return nil, fmt.Errorf("upstream tls: %w", err)
	}
	return transportSocket(&tlsv3.UpstreamTlsContext{CommonTlsContext: common, Sni: t.SNI})
}

func transportSocket(ctx proto.Message) (*corev3.TransportSocket, error) {
	a, err := typed(ctx)
	if err != nil {
		return nil, err
	}
	return &corev3.TransportSocket{
		Name:       tlsSocketName,
		ConfigType: &corev3.TransportSocket_TypedConfig{TypedConfig: a},
	}, nil
}

// commonTLS assembles certificate, validation and ALPN. cert may be nil
// (an upstream without client certificate).
func commonTLS(cert, trust *ir.CertSource, sans []*tlsv3.SubjectAltNameMatcher, alpn []string) (*tlsv3.CommonTlsContext, error) {
	out := &tlsv3.CommonTlsContext{AlpnProtocols: slices.Clone(alpn)}
	if cert != nil {
		if err := setCertificate(out, cert); err != nil {
			return nil, fmt.Errorf("certificate: %w", err)
		}
	}
	if trust == nil {
		if len(sans) > 0 {
			// Envoy refuses SAN checks without a CA: a peer could simply
			// sign a certificate with the expected SAN itself.
			return nil, errors.New("subject alternative names need a trust bundle")
		}
		return out, nil
	}
	if err := setValidation(out, trust, sans); err != nil {
		return nil, fmt.Errorf("trust: %w", err)
	}
	return out, nil
}

func setCertificate(out *tlsv3.CommonTlsContext, c *ir.CertSource) error {
	switch {
	case c.SDSSecret != "" && (c.CertChainFile != "" || c.PrivateKeyFile != ""):
		return errors.New("both sds secret and files set")
	case c.SDSSecret != "":
		out.TlsCertificateSdsSecretConfigs = []*tlsv3.SdsSecretConfig{sdsSecret(c.SDSSecret)}
	case c.CertChainFile != "" && c.PrivateKeyFile != "":
		out.TlsCertificates = []*tlsv3.TlsCertificate{{
			CertificateChain: fileSource(c.CertChainFile),
			PrivateKey:       fileSource(c.PrivateKeyFile),
		}}
	default:
		return errors.New("needs an sds secret, or a certificate chain and private key file")
	}
	return nil
}

// setValidation sets the trust bundle and SAN matchers. With an SDS bundle
// the SANs go in a combined context, because the SDS secret replaces the
// whole validation context and would otherwise drop them.
func setValidation(out *tlsv3.CommonTlsContext, t *ir.CertSource, matchers []*tlsv3.SubjectAltNameMatcher) error {
	switch {
	case t.PrivateKeyFile != "":
		return errors.New("a trust bundle has no private key")
	case t.SDSSecret != "" && t.CertChainFile != "":
		return errors.New("both sds secret and file set")
	case t.SDSSecret != "" && len(matchers) == 0:
		out.ValidationContextType = &tlsv3.CommonTlsContext_ValidationContextSdsSecretConfig{
			ValidationContextSdsSecretConfig: sdsSecret(t.SDSSecret),
		}
	case t.SDSSecret != "":
		out.ValidationContextType = &tlsv3.CommonTlsContext_CombinedValidationContext{
			CombinedValidationContext: &tlsv3.CommonTlsContext_CombinedCertificateValidationContext{
				DefaultValidationContext:         &tlsv3.CertificateValidationContext{MatchTypedSubjectAltNames: matchers},
				ValidationContextSdsSecretConfig: sdsSecret(t.SDSSecret),
			},
		}
	case t.CertChainFile != "":
		out.ValidationContextType = &tlsv3.CommonTlsContext_ValidationContext{
			ValidationContext: &tlsv3.CertificateValidationContext{
				TrustedCa:                 fileSource(t.CertChainFile),
				MatchTypedSubjectAltNames: matchers,
			},
		}
	default:
		return errors.New("needs an sds secret or a certificate chain file")
	}
	return nil
}

// sanMatchers matches any of the names exactly. App Mesh's SAN lists are
// untyped; DNS is the common case, and a spiffe:// ID lives in a URI SAN,
// so those also get a URI matcher (the DNS one is kept so the rule stays
// "every SAN is tried as DNS"). A URI prefix (auto-mTLS: any SPIFFE id of
// the mesh) adds one URI prefix matcher.
func sanMatchers(sans []string, uriPrefix string) []*tlsv3.SubjectAltNameMatcher {
	var out []*tlsv3.SubjectAltNameMatcher
	add := func(t tlsv3.SubjectAltNameMatcher_SanType, m *matcherv3.StringMatcher) {
		out = append(out, &tlsv3.SubjectAltNameMatcher{SanType: t, Matcher: m})
	}
	exact := func(v string) *matcherv3.StringMatcher {
		return &matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_Exact{Exact: v}}
	}
	for _, s := range sans {
		add(tlsv3.SubjectAltNameMatcher_DNS, exact(s))
		if strings.HasPrefix(s, "spiffe://") {
			add(tlsv3.SubjectAltNameMatcher_URI, exact(s))
		}
	}
	if uriPrefix != "" {
		add(tlsv3.SubjectAltNameMatcher_URI,
			&matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_Prefix{Prefix: uriPrefix}})
	}
	return out
}

// sdsSecret fetches a secret by name from the local SDS server (SPIRE
// agent or similar) through the bootstrap's static cluster, as App Mesh's
// APPMESH_SDS_SOCKET_PATH integration did. Names are used verbatim.
func sdsSecret(name string) *tlsv3.SdsSecretConfig {
	return &tlsv3.SdsSecretConfig{
		Name: name,
		SdsConfig: &corev3.ConfigSource{
			ResourceApiVersion: corev3.ApiVersion_V3,
			ConfigSourceSpecifier: &corev3.ConfigSource_ApiConfigSource{ApiConfigSource: &corev3.ApiConfigSource{
				ApiType:             corev3.ApiConfigSource_GRPC,
				TransportApiVersion: corev3.ApiVersion_V3,
				GrpcServices: []*corev3.GrpcService{{
					TargetSpecifier: &corev3.GrpcService_EnvoyGrpc_{EnvoyGrpc: &corev3.GrpcService_EnvoyGrpc{
						ClusterName: bootstrap.SDSCluster,
					}},
				}},
			}},
		},
	}
}

func fileSource(path string) *corev3.DataSource {
	return &corev3.DataSource{Specifier: &corev3.DataSource_Filename{Filename: path}}
}
