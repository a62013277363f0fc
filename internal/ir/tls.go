package ir

// CertSource is where a certificate (chain + key) or a trust bundle comes
// from: files on the proxy's disk or an SDS secret. Exactly one is set.
type CertSource struct {
	// CertChainFile and PrivateKeyFile for a certificate; CertChainFile
	// alone for a trust bundle.
	CertChainFile  string `json:"certChainFile,omitempty"`
	PrivateKeyFile string `json:"privateKeyFile,omitempty"`
	SDSSecret      string `json:"sdsSecret,omitempty"`
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
