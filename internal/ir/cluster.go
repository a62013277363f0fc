package ir

// Discovery is how a cluster finds its hosts.
type Discovery string

// Discovery types.
const (
	Static      Discovery = "static"
	StrictDNS   Discovery = "strict_dns"
	LogicalDNS  Discovery = "logical_dns"
	EDS         Discovery = "eds"
	OriginalDst Discovery = "original_dst"
)

// DNSFamily is the address family DNS lookups use.
type DNSFamily string

// DNS families (App Mesh ipPreference mapping).
const (
	DNSAuto        DNSFamily = "auto"
	DNSV4Only      DNSFamily = "v4_only"
	DNSV6Only      DNSFamily = "v6_only"
	DNSV4Preferred DNSFamily = "v4_preferred"
)

// Cluster is an upstream: the local app, a backend virtual node, or a
// pass-through.
type Cluster struct {
	// Name follows App Mesh: cds_ingress_<mesh>_<vn>_<proto>_<port>,
	// cds_egress_<mesh>_<vn>_<proto>_<port>, cds_egress_<mesh>_mesh-allow-all.
	Name      string    `json:"name"`
	Discovery Discovery `json:"discovery"`
	// Endpoints are the hosts of static and DNS clusters (DNS: a hostname),
	// and the load assignment of EDS clusters.
	Endpoints      []Endpoint `json:"endpoints,omitempty"`
	DNSFamily      DNSFamily  `json:"dnsFamily,omitempty"`
	ConnectTimeout Duration   `json:"connectTimeout"`
	// Protocol towards the upstream: http2 and grpc use HTTP/2.
	Protocol         Protocol          `json:"protocol,omitempty"`
	CircuitBreakers  *CircuitBreakers  `json:"circuitBreakers,omitempty"`
	OutlierDetection *OutlierDetection `json:"outlierDetection,omitempty"`
	HealthChecks     []HealthCheck     `json:"healthChecks,omitempty"`
	TLS              *UpstreamTLS      `json:"tls,omitempty"`
}

// Endpoint is one upstream host.
type Endpoint struct {
	Address string `json:"address"`
	Port    uint32 `json:"port"`
	// Healthy false marks a registry instance that reported unhealthy.
	Unhealthy bool `json:"unhealthy,omitempty"`
}

// CircuitBreakers are default-priority thresholds.
type CircuitBreakers struct {
	MaxConnections     uint32 `json:"maxConnections"`
	MaxPendingRequests uint32 `json:"maxPendingRequests"`
	MaxRequests        uint32 `json:"maxRequests"`
	MaxRetries         uint32 `json:"maxRetries"`
}

// OutlierDetection ejects hosts after consecutive server errors.
type OutlierDetection struct {
	Consecutive5xx     uint32   `json:"consecutive5xx"`
	Interval           Duration `json:"interval"`
	BaseEjectionTime   Duration `json:"baseEjectionTime"`
	MaxEjectionPercent uint32   `json:"maxEjectionPercent"`
}

// HealthCheck is an active health check of every host.
type HealthCheck struct {
	Protocol           Protocol `json:"protocol"`
	Path               string   `json:"path,omitempty"`
	Interval           Duration `json:"interval"`
	Timeout            Duration `json:"timeout"`
	HealthyThreshold   uint32   `json:"healthyThreshold"`
	UnhealthyThreshold uint32   `json:"unhealthyThreshold"`
	// Port overrides the host port for checks (0: the host's port).
	Port uint32 `json:"port,omitempty"`
}
