package appmesh

// RouteSpec is the specification of a route: exactly one of the four route
// types (not a modeled union; validation enforces it) and a priority.
type RouteSpec struct {
	GrpcRoute  *GrpcRoute `json:"grpcRoute,omitempty"`
	Http2Route *HttpRoute `json:"http2Route,omitempty"`
	HttpRoute  *HttpRoute `json:"httpRoute,omitempty"`
	Priority   *int32     `json:"priority,omitempty"`
	TcpRoute   *TcpRoute  `json:"tcpRoute,omitempty"`
}

// HttpRoute is an http or http2 route.
type HttpRoute struct {
	Action      *HttpRouteAction `json:"action"`
	Match       *HttpRouteMatch  `json:"match"`
	RetryPolicy *HttpRetryPolicy `json:"retryPolicy,omitempty"`
	Timeout     *HttpTimeout     `json:"timeout,omitempty"`
}

// HttpRouteMatch selects requests for an http/http2 route.
type HttpRouteMatch struct {
	Headers         []HttpRouteHeader    `json:"headers,omitempty"`
	Method          string               `json:"method,omitempty"`
	Path            *HttpPathMatch       `json:"path,omitempty"`
	Port            *int32               `json:"port,omitempty"`
	Prefix          *string              `json:"prefix,omitempty"`
	QueryParameters []HttpQueryParameter `json:"queryParameters,omitempty"`
	Scheme          string               `json:"scheme,omitempty"`
}

// HttpRouteHeader matches one request header.
type HttpRouteHeader struct {
	Invert *bool              `json:"invert,omitempty"`
	Match  *HeaderMatchMethod `json:"match,omitempty"`
	Name   string             `json:"name"`
}

// HttpRouteAction sends matched requests to weighted targets.
type HttpRouteAction struct {
	WeightedTargets []WeightedTarget `json:"weightedTargets"`
}

// WeightedTarget is a virtual node (and optionally its listener port)
// receiving a relative share of traffic.
type WeightedTarget struct {
	Port        *int32 `json:"port,omitempty"`
	VirtualNode string `json:"virtualNode"`
	Weight      int32  `json:"weight"`
}

// HttpRetryPolicy retries http/http2 requests.
type HttpRetryPolicy struct {
	HttpRetryEvents []string  `json:"httpRetryEvents,omitempty"`
	MaxRetries      *int64    `json:"maxRetries"`
	PerRetryTimeout *Duration `json:"perRetryTimeout"`
	TcpRetryEvents  []string  `json:"tcpRetryEvents,omitempty"`
}

// GrpcRoute is a gRPC route.
type GrpcRoute struct {
	Action      *GrpcRouteAction `json:"action"`
	Match       *GrpcRouteMatch  `json:"match"`
	RetryPolicy *GrpcRetryPolicy `json:"retryPolicy,omitempty"`
	Timeout     *GrpcTimeout     `json:"timeout,omitempty"`
}

// GrpcRouteMatch selects gRPC calls by service, method and metadata.
type GrpcRouteMatch struct {
	Metadata    []GrpcRouteMetadata `json:"metadata,omitempty"`
	MethodName  *string             `json:"methodName,omitempty"`
	Port        *int32              `json:"port,omitempty"`
	ServiceName *string             `json:"serviceName,omitempty"`
}

// GrpcRouteMetadata matches one gRPC metadata entry.
type GrpcRouteMetadata struct {
	Invert *bool              `json:"invert,omitempty"`
	Match  *HeaderMatchMethod `json:"match,omitempty"`
	Name   string             `json:"name"`
}

// GrpcRouteAction sends matched calls to weighted targets.
type GrpcRouteAction struct {
	WeightedTargets []WeightedTarget `json:"weightedTargets"`
}

// GrpcRetryPolicy retries gRPC calls.
type GrpcRetryPolicy struct {
	GrpcRetryEvents []string  `json:"grpcRetryEvents,omitempty"`
	HttpRetryEvents []string  `json:"httpRetryEvents,omitempty"`
	MaxRetries      *int64    `json:"maxRetries"`
	PerRetryTimeout *Duration `json:"perRetryTimeout"`
	TcpRetryEvents  []string  `json:"tcpRetryEvents,omitempty"`
}

// TcpRoute is a TCP route.
type TcpRoute struct {
	Action  *TcpRouteAction `json:"action"`
	Match   *TcpRouteMatch  `json:"match,omitempty"`
	Timeout *TcpTimeout     `json:"timeout,omitempty"`
}

// TcpRouteMatch selects TCP connections by listener port.
type TcpRouteMatch struct {
	Port *int32 `json:"port,omitempty"`
}

// TcpRouteAction sends matched connections to weighted targets.
type TcpRouteAction struct {
	WeightedTargets []WeightedTarget `json:"weightedTargets"`
}

// Retry events of the model's enums.
var (
	GrpcRetryEvents = []string{"cancelled", "deadline-exceeded", "internal", "resource-exhausted", "unavailable"}
	TcpRetryEvents  = []string{"connection-error"}
)

// WeightedTargets returns the targets of whichever route type is set.
func (s *RouteSpec) WeightedTargets() []WeightedTarget {
	switch {
	case s.HttpRoute != nil && s.HttpRoute.Action != nil:
		return s.HttpRoute.Action.WeightedTargets
	case s.Http2Route != nil && s.Http2Route.Action != nil:
		return s.Http2Route.Action.WeightedTargets
	case s.GrpcRoute != nil && s.GrpcRoute.Action != nil:
		return s.GrpcRoute.Action.WeightedTargets
	case s.TcpRoute != nil && s.TcpRoute.Action != nil:
		return s.TcpRoute.Action.WeightedTargets
	}
	return nil
}

// Protocol returns the protocol of the route type that is set ("" if none).
func (s *RouteSpec) Protocol() string {
	switch {
	case s.HttpRoute != nil:
		return ProtocolHTTP
	case s.Http2Route != nil:
		return ProtocolHTTP2
	case s.GrpcRoute != nil:
		return ProtocolGRPC
	case s.TcpRoute != nil:
		return ProtocolTCP
	}
	return ""
}

// MatchPort returns the match.port of whichever route type is set.
func (s *RouteSpec) MatchPort() *int32 {
	switch {
	case s.HttpRoute != nil && s.HttpRoute.Match != nil:
		return s.HttpRoute.Match.Port
	case s.Http2Route != nil && s.Http2Route.Match != nil:
		return s.Http2Route.Match.Port
	case s.GrpcRoute != nil && s.GrpcRoute.Match != nil:
		return s.GrpcRoute.Match.Port
	case s.TcpRoute != nil && s.TcpRoute.Match != nil:
		return s.TcpRoute.Match.Port
	}
	return nil
}
