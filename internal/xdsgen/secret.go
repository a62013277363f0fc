package xdsgen

import (
	"fmt"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"

	"github.com/trellis-mesh/trellis/internal/ir"
)

// SecretType is the xDS type URL of the secrets the control plane serves
// on a proxy's ADS stream (ir.CertSource.ADSSecret).
const SecretType = resource.SecretType

// sourceCount is how many of a CertSource's alternatives are set.
func sourceCount(c *ir.CertSource) int {
	n := 0
	for _, set := range []bool{c.SDSSecret != "", c.ADSSecret != "", c.CertChainFile != "" || c.PrivateKeyFile != ""} {
		if set {
			n++
		}
	}
	return n
}

// secretConfig references a CertSource's secret: one of the local SDS
// server (SDSSecret), or one the control plane sends on the ADS stream
// itself (ADSSecret), so nothing is copied to the host.
func secretConfig(c *ir.CertSource) *tlsv3.SdsSecretConfig {
	if c.ADSSecret != "" {
		return adsSecret(c.ADSSecret)
	}
	return sdsSecret(c.SDSSecret)
}

// adsSecret fetches a secret by name over the ADS stream. The initial
// fetch timeout stays Envoy's default (15 s): a secret the control plane
// never sends (an ACM ARN nothing was imported under) lets the listener or
// cluster warm without it after that, and its TLS handshakes then fail;
// the rest of the proxy is not held up.
func adsSecret(name string) *tlsv3.SdsSecretConfig {
	return &tlsv3.SdsSecretConfig{
		Name: name,
		SdsConfig: &corev3.ConfigSource{
			ResourceApiVersion:    corev3.ApiVersion_V3,
			ConfigSourceSpecifier: &corev3.ConfigSource_Ads{Ads: &corev3.AggregatedConfigSource{}},
		},
	}
}

// CertificateSecret is a TLS certificate secret: chain (leaf first) and
// private key, inline PEM.
func CertificateSecret(name string, chainPEM, keyPEM []byte) (*tlsv3.Secret, error) {
	s := &tlsv3.Secret{Name: name, Type: &tlsv3.Secret_TlsCertificate{TlsCertificate: &tlsv3.TlsCertificate{
		CertificateChain: inlineBytes(chainPEM),
		PrivateKey:       inlineBytes(keyPEM),
	}}}
	if err := s.ValidateAll(); err != nil {
		return nil, fmt.Errorf("xdsgen: secret %q: %w", name, err)
	}
	return s, nil
}

// TrustSecret is a validation context secret trusting the PEM CA bundle.
func TrustSecret(name string, bundlePEM []byte) (*tlsv3.Secret, error) {
	s := &tlsv3.Secret{Name: name, Type: &tlsv3.Secret_ValidationContext{ValidationContext: &tlsv3.CertificateValidationContext{
		TrustedCa: inlineBytes(bundlePEM),
	}}}
	if err := s.ValidateAll(); err != nil {
		return nil, fmt.Errorf("xdsgen: secret %q: %w", name, err)
	}
	return s, nil
}

func inlineBytes(b []byte) *corev3.DataSource {
	return &corev3.DataSource{Specifier: &corev3.DataSource_InlineBytes{InlineBytes: b}}
}
