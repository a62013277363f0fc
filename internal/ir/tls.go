package ir

import "slices"

// CertSource is where a certificate (chain + key) or a trust bundle comes
// from: files on the proxy's disk, an SDS secret of a local SDS server, or
// a secret the control plane serves itself. Exactly one is set.
type CertSource struct {
	// CertChainFile and PrivateKeyFile for a certificate; CertChainFile
	// alone for a trust bundle.
	CertChainFile  string `json:"certChainFile,omitempty"`
	PrivateKeyFile string `json:"privateKeyFile,omitempty"`
	SDSSecret      string `json:"sdsSecret,omitempty"`
	// ADSSecret names a secret the control plane delivers on the proxy's
	// own ADS stream (an ACM certificate or trust, resolved by the
	// reconciler); the name is opaque here.
	ADSSecret string `json:"adsSecret,omitempty"`
}

// ADSSecrets lists, sorted and without repeats, the ADSSecret names a
// proxy's listeners and clusters reference.
func (p *Proxy) ADSSecrets() []string {
	seen := map[string]bool{}
	add := func(cs ...*CertSource) {
		for _, c := range cs {
			if c != nil && c.ADSSecret != "" {
				seen[c.ADSSecret] = true
			}
		}
	}
	for _, l := range p.Listeners {
		for _, fc := range l.FilterChains {
			if t := fc.TLS; t != nil {
				add(&t.Certificate, t.Trust)
			}
		}
	}
	for _, c := range p.Clusters {
		if t := c.TLS; t != nil {
			add(t.Certificate, t.Trust)
		}
	}
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// DownstreamTLS terminates TLS on a listener chain.
type DownstreamTLS struct {
	Certificate CertSource `json:"certificate"`
	// Trust, when set, requires and validates client certificates (mTLS).
	Trust *CertSource `json:"trust,omitempty"`
	// SANs restrict accepted client certificates (exact match).
	SANs []string `json:"sans,omitempty"`
	// URISANPrefix, when set, also accepts a client whose URI SAN starts
	// with it (a SPIFFE id within a mesh: spiffe://<td>/mesh/<mesh>/).
	URISANPrefix string `json:"uriSanPrefix,omitempty"`
	// ALPN protocols to offer (h2, http/1.1).
	ALPN []string `json:"alpn,omitempty"`
}

// UpstreamTLS originates TLS towards a cluster's hosts.
type UpstreamTLS struct {
	SNI string `json:"sni,omitempty"`
	// Certificate is the client certificate for mTLS.
	Certificate *CertSource `json:"certificate,omitempty"`
	// Trust validates the server certificate; nil skips validation.
	Trust *CertSource `json:"trust,omitempty"`
	// SANs the server certificate must carry (exact match, any of).
	SANs []string `json:"sans,omitempty"`
	// URISANPrefix, when set, also accepts a server whose URI SAN starts
	// with it.
	URISANPrefix string   `json:"uriSanPrefix,omitempty"`
	ALPN         []string `json:"alpn,omitempty"`
}
