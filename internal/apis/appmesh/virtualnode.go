package appmesh

// VirtualNodeSpec is the specification of a virtual node.
type VirtualNodeSpec struct {
	BackendDefaults  *BackendDefaults  `json:"backendDefaults,omitempty"`
	Backends         []Backend         `json:"backends,omitempty"`
	Listeners        []Listener        `json:"listeners,omitempty"`
	Logging          *Logging          `json:"logging,omitempty"`
	ServiceDiscovery *ServiceDiscovery `json:"serviceDiscovery,omitempty"`
}

// Listener is one inbound listener of a virtual node.
type Listener struct {
	ConnectionPool   *VirtualNodeConnectionPool `json:"connectionPool,omitempty"`
	HealthCheck      *HealthCheckPolicy         `json:"healthCheck,omitempty"`
	OutlierDetection *OutlierDetection          `json:"outlierDetection,omitempty"`
	PortMapping      *PortMapping               `json:"portMapping"`
	Timeout          *ListenerTimeout           `json:"timeout,omitempty"`
	Tls              *ListenerTls               `json:"tls,omitempty"`
}

// VirtualNodeConnectionPool is a union keyed by the listener protocol.
type VirtualNodeConnectionPool struct {
	Grpc  *VirtualNodeGrpcConnectionPool  `json:"grpc,omitempty"`
	Http  *VirtualNodeHttpConnectionPool  `json:"http,omitempty"`
	Http2 *VirtualNodeHttp2ConnectionPool `json:"http2,omitempty"`
	Tcp   *VirtualNodeTcpConnectionPool   `json:"tcp,omitempty"`
}

// VirtualNodeTcpConnectionPool limits TCP connections.
type VirtualNodeTcpConnectionPool struct {
	MaxConnections int32 `json:"maxConnections"`
}

// VirtualNodeHttpConnectionPool limits HTTP/1.1 connections and queueing.
type VirtualNodeHttpConnectionPool struct {
	MaxConnections     int32  `json:"maxConnections"`
	MaxPendingRequests *int32 `json:"maxPendingRequests,omitempty"`
}

// VirtualNodeHttp2ConnectionPool limits concurrent HTTP/2 requests.
type VirtualNodeHttp2ConnectionPool struct {
	MaxRequests int32 `json:"maxRequests"`
}

// VirtualNodeGrpcConnectionPool limits concurrent gRPC requests.
type VirtualNodeGrpcConnectionPool struct {
	MaxRequests int32 `json:"maxRequests"`
}

// HealthCheckPolicy is an active health check of the local app.
type HealthCheckPolicy struct {
	HealthyThreshold   int32   `json:"healthyThreshold"`
	IntervalMillis     int64   `json:"intervalMillis"`
	Path               *string `json:"path,omitempty"`
	Port               *int32  `json:"port,omitempty"`
	Protocol           string  `json:"protocol"`
	TimeoutMillis      int64   `json:"timeoutMillis"`
	UnhealthyThreshold int32   `json:"unhealthyThreshold"`
}

// OutlierDetection ejects failing endpoints of this node from callers' pools.
type OutlierDetection struct {
	BaseEjectionDuration *Duration `json:"baseEjectionDuration"`
	Interval             *Duration `json:"interval"`
	MaxEjectionPercent   *int32    `json:"maxEjectionPercent"`
	MaxServerErrors      *int64    `json:"maxServerErrors"`
}

// ListenerTimeout is a union keyed by the listener protocol.
type ListenerTimeout struct {
	Grpc  *GrpcTimeout `json:"grpc,omitempty"`
	Http  *HttpTimeout `json:"http,omitempty"`
	Http2 *HttpTimeout `json:"http2,omitempty"`
	Tcp   *TcpTimeout  `json:"tcp,omitempty"`
}

// ListenerTls terminates TLS on a listener.
type ListenerTls struct {
	Certificate *ListenerTlsCertificate       `json:"certificate"`
	Mode        string                        `json:"mode"`
	Validation  *ListenerTlsValidationContext `json:"validation,omitempty"`
}

// Listener TLS modes.
const (
	TLSModeStrict     = "STRICT"
	TLSModePermissive = "PERMISSIVE"
	TLSModeDisabled   = "DISABLED"
)

// ListenerTlsCertificate is a union: acm, file or sds.
type ListenerTlsCertificate struct {
	Acm  *ListenerTlsAcmCertificate  `json:"acm,omitempty"`
	File *ListenerTlsFileCertificate `json:"file,omitempty"`
	Sds  *ListenerTlsSdsCertificate  `json:"sds,omitempty"`
}

// ListenerTlsAcmCertificate names an ACM certificate.
type ListenerTlsAcmCertificate struct {
	CertificateArn string `json:"certificateArn"`
}

// ListenerTlsFileCertificate names PEM files on the proxy's file system.
type ListenerTlsFileCertificate struct {
	CertificateChain string `json:"certificateChain"`
	PrivateKey       string `json:"privateKey"`
}

// ListenerTlsSdsCertificate names an SDS secret.
type ListenerTlsSdsCertificate struct {
	SecretName string `json:"secretName"`
}

// ListenerTlsValidationContext makes a listener require client certificates.
type ListenerTlsValidationContext struct {
	SubjectAlternativeNames *SubjectAlternativeNames           `json:"subjectAlternativeNames,omitempty"`
	Trust                   *ListenerTlsValidationContextTrust `json:"trust"`
}

// ListenerTlsValidationContextTrust is a union: file or sds.
type ListenerTlsValidationContextTrust struct {
	File *TlsValidationContextFileTrust `json:"file,omitempty"`
	Sds  *TlsValidationContextSdsTrust  `json:"sds,omitempty"`
}

// Backend is a union with one member: a virtual service the node calls.
type Backend struct {
	VirtualService *VirtualServiceBackend `json:"virtualService,omitempty"`
}

// VirtualServiceBackend is a virtual service the node calls.
type VirtualServiceBackend struct {
	ClientPolicy       *ClientPolicy `json:"clientPolicy,omitempty"`
	VirtualServiceName string        `json:"virtualServiceName"`
}

// BackendDefaults applies to every backend without its own client policy.
type BackendDefaults struct {
	ClientPolicy *ClientPolicy `json:"clientPolicy,omitempty"`
}

// ClientPolicy is how the node talks to a backend.
type ClientPolicy struct {
	Tls *ClientPolicyTls `json:"tls,omitempty"`
}

// ClientPolicyTls originates TLS to a backend.
type ClientPolicyTls struct {
	Certificate *ClientTlsCertificate `json:"certificate,omitempty"`
	Enforce     *bool                 `json:"enforce,omitempty"`
	Ports       []int32               `json:"ports,omitempty"`
	Validation  *TlsValidationContext `json:"validation"`
}

// ClientTlsCertificate is a union: file or sds.
type ClientTlsCertificate struct {
	File *ListenerTlsFileCertificate `json:"file,omitempty"`
	Sds  *ListenerTlsSdsCertificate  `json:"sds,omitempty"`
}

// TlsValidationContext validates a backend's certificate.
type TlsValidationContext struct {
	SubjectAlternativeNames *SubjectAlternativeNames   `json:"subjectAlternativeNames,omitempty"`
	Trust                   *TlsValidationContextTrust `json:"trust"`
}

// TlsValidationContextTrust is a union: acm, file or sds.
type TlsValidationContextTrust struct {
	Acm  *TlsValidationContextAcmTrust  `json:"acm,omitempty"`
	File *TlsValidationContextFileTrust `json:"file,omitempty"`
	Sds  *TlsValidationContextSdsTrust  `json:"sds,omitempty"`
}

// TlsValidationContextAcmTrust names ACM private CAs.
type TlsValidationContextAcmTrust struct {
	CertificateAuthorityArns []string `json:"certificateAuthorityArns"`
}

// TlsValidationContextFileTrust names a PEM trust bundle file.
type TlsValidationContextFileTrust struct {
	CertificateChain string `json:"certificateChain"`
}

// TlsValidationContextSdsTrust names an SDS trust bundle.
type TlsValidationContextSdsTrust struct {
	SecretName string `json:"secretName"`
}

// SubjectAlternativeNames restricts accepted peer SANs.
type SubjectAlternativeNames struct {
	Match *SubjectAlternativeNameMatchers `json:"match"`
}

// SubjectAlternativeNameMatchers lists exact SANs.
type SubjectAlternativeNameMatchers struct {
	Exact []string `json:"exact"`
}

// ServiceDiscovery is a union: DNS or Cloud Map.
type ServiceDiscovery struct {
	AwsCloudMap *AwsCloudMapServiceDiscovery `json:"awsCloudMap,omitempty"`
	Dns         *DnsServiceDiscovery         `json:"dns,omitempty"`
}

// DnsServiceDiscovery finds the node's instances by a DNS name.
type DnsServiceDiscovery struct {
	Hostname     string `json:"hostname"`
	IpPreference string `json:"ipPreference,omitempty"`
	ResponseType string `json:"responseType,omitempty"`
}

// DNS response types.
const (
	DNSResponseLoadBalancer = "LOADBALANCER"
	DNSResponseEndpoints    = "ENDPOINTS"
)

// AwsCloudMapServiceDiscovery finds the node's instances in the registry.
type AwsCloudMapServiceDiscovery struct {
	Attributes    []AwsCloudMapInstanceAttribute `json:"attributes,omitempty"`
	IpPreference  string                         `json:"ipPreference,omitempty"`
	NamespaceName string                         `json:"namespaceName"`
	ServiceName   string                         `json:"serviceName"`
}

// AwsCloudMapInstanceAttribute is a key/value an instance must carry.
type AwsCloudMapInstanceAttribute struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Logging configures access logs.
type Logging struct {
	AccessLog *AccessLog `json:"accessLog,omitempty"`
}

// AccessLog is a union with one member: a file.
type AccessLog struct {
	File *FileAccessLog `json:"file,omitempty"`
}

// FileAccessLog writes access logs to a path, in an optional format.
type FileAccessLog struct {
	Format *LoggingFormat `json:"format,omitempty"`
	Path   string         `json:"path"`
}

// LoggingFormat is a union: json key/values or a text pattern.
type LoggingFormat struct {
	Json []JsonFormatRef `json:"json,omitempty"`
	Text *string         `json:"text,omitempty"`
}

// JsonFormatRef is one key of a JSON access log line.
type JsonFormatRef struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}
