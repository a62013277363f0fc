package appmesh

// Duration is an App Mesh duration: a value and a unit (s or ms). Both
// members are optional in the model; a zero value disables a timeout.
type Duration struct {
	Unit  string `json:"unit,omitempty"`
	Value *int64 `json:"value,omitempty"`
}

// Duration units.
const (
	DurationUnitSeconds      = "s"
	DurationUnitMilliseconds = "ms"
)

// PortMapping is a listener's port and protocol.
type PortMapping struct {
	Port     int32  `json:"port"`
	Protocol string `json:"protocol"`
}

// Port protocols.
const (
	ProtocolHTTP  = "http"
	ProtocolHTTP2 = "http2"
	ProtocolGRPC  = "grpc"
	ProtocolTCP   = "tcp"
)

// MatchRange matches an integer header value in [Start, End).
type MatchRange struct {
	Start int64 `json:"start"`
	End   int64 `json:"end"`
}

// HeaderMatchMethod is a union: exactly one member.
type HeaderMatchMethod struct {
	Exact  *string     `json:"exact,omitempty"`
	Prefix *string     `json:"prefix,omitempty"`
	Range  *MatchRange `json:"range,omitempty"`
	Regex  *string     `json:"regex,omitempty"`
	Suffix *string     `json:"suffix,omitempty"`
}

// HttpPathMatch matches the path exactly or by regex (one of the two).
type HttpPathMatch struct {
	Exact *string `json:"exact,omitempty"`
	Regex *string `json:"regex,omitempty"`
}

// HttpQueryParameter matches one query parameter; no Match means "present".
type HttpQueryParameter struct {
	Name  string               `json:"name"`
	Match *QueryParameterMatch `json:"match,omitempty"`
}

// QueryParameterMatch matches a query parameter value.
type QueryParameterMatch struct {
	Exact *string `json:"exact,omitempty"`
}

// HttpTimeout holds per-request and idle timeouts of http/http2 traffic.
type HttpTimeout struct {
	Idle       *Duration `json:"idle,omitempty"`
	PerRequest *Duration `json:"perRequest,omitempty"`
}

// GrpcTimeout holds per-request and idle timeouts of gRPC traffic.
type GrpcTimeout struct {
	Idle       *Duration `json:"idle,omitempty"`
	PerRequest *Duration `json:"perRequest,omitempty"`
}

// TcpTimeout holds the idle timeout of TCP traffic.
type TcpTimeout struct {
	Idle *Duration `json:"idle,omitempty"`
}

// HTTP methods accepted in route matches.
var HTTPMethods = []string{"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"}

// IP preferences of service discovery.
var IPPreferences = []string{"IPv6_PREFERRED", "IPv4_PREFERRED", "IPv4_ONLY", "IPv6_ONLY"}
