package ir

// RouteConfig is an Envoy route configuration (RDS resource).
type RouteConfig struct {
	// Name follows App Mesh: rds_ingress_http_8080, rds_egress_http_8080.
	Name         string        `json:"name"`
	VirtualHosts []VirtualHost `json:"virtualHosts"`
}

// VirtualHost groups routes by Host/:authority.
type VirtualHost struct {
	Name    string   `json:"name"`
	Domains []string `json:"domains"`
	// Routes are evaluated in order; the first match wins.
	Routes []Route `json:"routes,omitempty"`
	// StatsName, when set, makes Envoy count every request of the host
	// (a catch-all virtual cluster of that name): its stats are
	// vhost.<Name>.vcluster.<StatsName>.upstream_rq_* (rq counts by class,
	// upstream_rq_time). Egress hosts of virtual services set it to the
	// service name, for per-service golden signals (internal/telemetry).
	StatsName string `json:"statsName,omitempty"`
}

// Route is one match → action rule.
type Route struct {
	Name   string      `json:"name"`
	Match  RouteMatch  `json:"match"`
	Action RouteAction `json:"action"`
}

// RouteMatch matches a request. Exactly one of Prefix, Path and Regex is
// set (Prefix "/" matches everything).
type RouteMatch struct {
	Prefix string `json:"prefix,omitempty"`
	Path   string `json:"path,omitempty"`
	Regex  string `json:"regex,omitempty"`
	// GRPC restricts the match to gRPC requests (content-type).
	GRPC        bool              `json:"grpc,omitempty"`
	Headers     []HeaderMatch     `json:"headers,omitempty"`
	QueryParams []QueryParamMatch `json:"queryParams,omitempty"`
}

// HeaderMatch matches one header (or gRPC metadata entry, or pseudo-header
// such as :method or :scheme). With no value matcher set it matches
// presence.
type HeaderMatch struct {
	Name   string  `json:"name"`
	Exact  *string `json:"exact,omitempty"`
	Prefix *string `json:"prefix,omitempty"`
	Suffix *string `json:"suffix,omitempty"`
	Regex  *string `json:"regex,omitempty"`
	Range  *Range  `json:"range,omitempty"`
	Invert bool    `json:"invert,omitempty"`
}

// Range is [Start, End).
type Range struct {
	Start int64 `json:"start"`
	End   int64 `json:"end"`
}

// QueryParamMatch matches one query parameter exactly, or its presence.
type QueryParamMatch struct {
	Name  string  `json:"name"`
	Exact *string `json:"exact,omitempty"`
}

// RouteAction forwards to weighted clusters.
type RouteAction struct {
	Clusters []WeightedCluster `json:"clusters"`
	// Timeout is the whole-request timeout including retries; nil leaves
	// Envoy's default, 0 disables.
	Timeout *Duration `json:"timeout,omitempty"`
	// IdleTimeout is the per-stream idle timeout; 0 disables.
	IdleTimeout *Duration    `json:"idleTimeout,omitempty"`
	Retry       *RetryPolicy `json:"retry,omitempty"`
	// HostRewrite replaces Host/:authority; PrefixRewrite replaces the
	// matched prefix; PathRewrite replaces the whole path.
	HostRewrite   string `json:"hostRewrite,omitempty"`
	PrefixRewrite string `json:"prefixRewrite,omitempty"`
	PathRewrite   string `json:"pathRewrite,omitempty"`
	// RequestHeadersToAdd are set on the forwarded request, replacing any
	// value the client sent; RequestHeadersToRemove are dropped from it.
	RequestHeadersToAdd    []KeyValue `json:"requestHeadersToAdd,omitempty"`
	RequestHeadersToRemove []string   `json:"requestHeadersToRemove,omitempty"`
}

// RetryPolicy retries failed attempts.
type RetryPolicy struct {
	// RetryOn are Envoy retry conditions (5xx, reset, connect-failure,
	// refused-stream, retriable-status-codes, unavailable, cancelled ...).
	RetryOn              []string  `json:"retryOn"`
	RetriableStatusCodes []uint32  `json:"retriableStatusCodes,omitempty"`
	NumRetries           uint32    `json:"numRetries"`
	PerTryTimeout        *Duration `json:"perTryTimeout,omitempty"`
	// PreferOtherHosts retries on a host not tried before.
	PreferOtherHosts bool `json:"preferOtherHosts,omitempty"`
}
