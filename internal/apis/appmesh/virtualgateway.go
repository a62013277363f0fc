package appmesh

// VirtualGatewaySpec is the specification of a virtual gateway.
type VirtualGatewaySpec struct {
	BackendDefaults *VirtualGatewayBackendDefaults `json:"backendDefaults,omitempty"`
	Listeners       []VirtualGatewayListener       `json:"listeners"`
	Logging         *VirtualGatewayLogging         `json:"logging,omitempty"`
}

// VirtualGatewayListener is one listener of a virtual gateway.
type VirtualGatewayListener struct {
	ConnectionPool *VirtualGatewayConnectionPool    `json:"connectionPool,omitempty"`
	HealthCheck    *VirtualGatewayHealthCheckPolicy `json:"healthCheck,omitempty"`
	PortMapping    *VirtualGatewayPortMapping       `json:"portMapping"`
	Tls            *VirtualGatewayListenerTls       `json:"tls,omitempty"`
}

// VirtualGatewayPortMapping is a gateway listener's port and protocol (no tcp).
type VirtualGatewayPortMapping struct {
	Port     int32  `json:"port"`
	Protocol string `json:"protocol"`
}

// VirtualGatewayConnectionPool is a union keyed by the listener protocol.
type VirtualGatewayConnectionPool struct {
	Grpc  *VirtualGatewayGrpcConnectionPool  `json:"grpc,omitempty"`
	Http  *VirtualGatewayHttpConnectionPool  `json:"http,omitempty"`
	Http2 *VirtualGatewayHttp2ConnectionPool `json:"http2,omitempty"`
}

// VirtualGatewayHttpConnectionPool limits HTTP/1.1 connections and queueing.
type VirtualGatewayHttpConnectionPool struct {
	MaxConnections     int32  `json:"maxConnections"`
	MaxPendingRequests *int32 `json:"maxPendingRequests,omitempty"`
}

// VirtualGatewayHttp2ConnectionPool limits concurrent HTTP/2 requests.
type VirtualGatewayHttp2ConnectionPool struct {
	MaxRequests int32 `json:"maxRequests"`
}

// VirtualGatewayGrpcConnectionPool limits concurrent gRPC requests.
type VirtualGatewayGrpcConnectionPool struct {
	MaxRequests int32 `json:"maxRequests"`
}

// VirtualGatewayHealthCheckPolicy is an active health check (no tcp).
type VirtualGatewayHealthCheckPolicy struct {
	HealthyThreshold   int32   `json:"healthyThreshold"`
	IntervalMillis     int64   `json:"intervalMillis"`
	Path               *string `json:"path,omitempty"`
	Port               *int32  `json:"port,omitempty"`
	Protocol           string  `json:"protocol"`
	TimeoutMillis      int64   `json:"timeoutMillis"`
	UnhealthyThreshold int32   `json:"unhealthyThreshold"`
}

// VirtualGatewayListenerTls terminates TLS on a gateway listener.
type VirtualGatewayListenerTls struct {
	Certificate *VirtualGatewayListenerTlsCertificate       `json:"certificate"`
	Mode        string                                      `json:"mode"`
	Validation  *VirtualGatewayListenerTlsValidationContext `json:"validation,omitempty"`
}

// VirtualGatewayListenerTlsCertificate is a union: acm, file or sds.
type VirtualGatewayListenerTlsCertificate struct {
	Acm  *ListenerTlsAcmCertificate  `json:"acm,omitempty"`
	File *ListenerTlsFileCertificate `json:"file,omitempty"`
	Sds  *ListenerTlsSdsCertificate  `json:"sds,omitempty"`
}

// VirtualGatewayListenerTlsValidationContext requires client certificates.
type VirtualGatewayListenerTlsValidationContext struct {
	SubjectAlternativeNames *SubjectAlternativeNames           `json:"subjectAlternativeNames,omitempty"`
	Trust                   *ListenerTlsValidationContextTrust `json:"trust"`
}

// VirtualGatewayBackendDefaults applies to every backend of the gateway.
type VirtualGatewayBackendDefaults struct {
	ClientPolicy *VirtualGatewayClientPolicy `json:"clientPolicy,omitempty"`
}

// VirtualGatewayClientPolicy is how the gateway talks to backends.
type VirtualGatewayClientPolicy struct {
	Tls *VirtualGatewayClientPolicyTls `json:"tls,omitempty"`
}

// VirtualGatewayClientPolicyTls originates TLS to backends.
type VirtualGatewayClientPolicyTls struct {
	Certificate *ClientTlsCertificate `json:"certificate,omitempty"`
	Enforce     *bool                 `json:"enforce,omitempty"`
	Ports       []int32               `json:"ports,omitempty"`
	Validation  *TlsValidationContext `json:"validation"`
}

// VirtualGatewayLogging configures access logs.
type VirtualGatewayLogging struct {
	AccessLog *AccessLog `json:"accessLog,omitempty"`
}
