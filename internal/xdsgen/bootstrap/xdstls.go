package bootstrap

import (
	"errors"
	"fmt"
	"net/netip"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	"google.golang.org/protobuf/types/known/anypb"
)

// XDSTLS makes xds_cluster mutual TLS with the proxy's own SVID, both
// secrets fetched from the local SDS server (SDSSocketPath), as a server
// started with --xds-mtls requires. The server's certificate must chain to
// the trust bundle and name the xDS host (DNS or IP SAN, any server of
// XDSHost and XDSReplicas): a workload SVID, which carries only a URI SAN,
// cannot pose as the control plane.
type XDSTLS struct {
	// CertSecret is the SDS name of the proxy's certificate and key.
	CertSecret string
	// TrustSecret is the SDS name of the trust bundle.
	TrustSecret string
}

func (c *Config) checkXDSTLS() error {
	t := c.XDSTLS
	switch {
	case t == nil:
		return nil
	case c.SDSSocketPath == "":
		return errors.New("xds tls needs an sds socket")
	case c.XDSUnixSocket != "":
		return errors.New("xds tls needs a host and port, not a unix socket")
	case t.CertSecret == "" || t.TrustSecret == "":
		return errors.New("xds tls needs a certificate and a trust secret name")
	}
	return nil
}

// applyXDSTLS sets the xDS cluster's transport socket.
func applyXDSTLS(c *Config, out *clusterv3.Cluster) error {
	if c.XDSTLS == nil {
		return nil
	}
	var sans []*tlsv3.SubjectAltNameMatcher
	for _, s := range append([]HostPort{{Host: c.XDSHost, Port: c.XDSPort}}, c.XDSReplicas...) {
		typ := tlsv3.SubjectAltNameMatcher_DNS
		if _, err := netip.ParseAddr(s.Host); err == nil {
			typ = tlsv3.SubjectAltNameMatcher_IP_ADDRESS
		}
		sans = append(sans, &tlsv3.SubjectAltNameMatcher{SanType: typ,
			Matcher: &matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_Exact{Exact: s.Host}}})
	}
	ctx := &tlsv3.UpstreamTlsContext{CommonTlsContext: &tlsv3.CommonTlsContext{
		AlpnProtocols:                  []string{"h2"},
		TlsCertificateSdsSecretConfigs: []*tlsv3.SdsSecretConfig{sdsSecret(c.XDSTLS.CertSecret)},
		ValidationContextType: &tlsv3.CommonTlsContext_CombinedValidationContext{
			CombinedValidationContext: &tlsv3.CommonTlsContext_CombinedCertificateValidationContext{
				DefaultValidationContext:         &tlsv3.CertificateValidationContext{MatchTypedSubjectAltNames: sans},
				ValidationContextSdsSecretConfig: sdsSecret(c.XDSTLS.TrustSecret),
			},
		},
	}}
	if _, err := netip.ParseAddr(c.XDSHost); err != nil {
		ctx.Sni = c.XDSHost
	}
	a, err := anypb.New(ctx)
	if err != nil {
		return fmt.Errorf("xds tls: %w", err)
	}
	out.TransportSocket = &corev3.TransportSocket{Name: "envoy.transport_sockets.tls",
		ConfigType: &corev3.TransportSocket_TypedConfig{TypedConfig: a}}
	return nil
}

// sdsSecret fetches a secret by name from SDSCluster.
func sdsSecret(name string) *tlsv3.SdsSecretConfig {
	return &tlsv3.SdsSecretConfig{
		Name: name,
		SdsConfig: &corev3.ConfigSource{
			ResourceApiVersion: corev3.ApiVersion_V3,
			ConfigSourceSpecifier: &corev3.ConfigSource_ApiConfigSource{ApiConfigSource: &corev3.ApiConfigSource{
				ApiType:             corev3.ApiConfigSource_GRPC,
				TransportApiVersion: corev3.ApiVersion_V3,
				GrpcServices: []*corev3.GrpcService{{
					TargetSpecifier: &corev3.GrpcService_EnvoyGrpc_{EnvoyGrpc: &corev3.GrpcService_EnvoyGrpc{ClusterName: SDSCluster}},
				}},
			}},
		},
	}
}
