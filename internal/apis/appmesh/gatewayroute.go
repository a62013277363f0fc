package appmesh

// GatewayRouteSpec is the specification of a gateway route: exactly one of
// the three route types (validation enforces it) and a priority.
type GatewayRouteSpec struct {
	GrpcRoute  *GrpcGatewayRoute `json:"grpcRoute,omitempty"`
	Http2Route *HttpGatewayRoute `json:"http2Route,omitempty"`
	HttpRoute  *HttpGatewayRoute `json:"httpRoute,omitempty"`
	Priority   *int32            `json:"priority,omitempty"`
}

// HttpGatewayRoute is an http or http2 gateway route.
type HttpGatewayRoute struct {
	Action *HttpGatewayRouteAction `json:"action"`
	Match  *HttpGatewayRouteMatch  `json:"match"`
}

// HttpGatewayRouteMatch selects requests entering the gateway.
type HttpGatewayRouteMatch struct {
	Headers         []HttpGatewayRouteHeader   `json:"headers,omitempty"`
	Hostname        *GatewayRouteHostnameMatch `json:"hostname,omitempty"`
	Method          string                     `json:"method,omitempty"`
	Path            *HttpPathMatch             `json:"path,omitempty"`
	Port            *int32                     `json:"port,omitempty"`
	Prefix          *string                    `json:"prefix,omitempty"`
	QueryParameters []HttpQueryParameter       `json:"queryParameters,omitempty"`
}

// GatewayRouteHostnameMatch matches the Host exactly or by suffix.
type GatewayRouteHostnameMatch struct {
	Exact  *string `json:"exact,omitempty"`
	Suffix *string `json:"suffix,omitempty"`
}

// HttpGatewayRouteHeader matches one request header.
type HttpGatewayRouteHeader struct {
	Invert *bool              `json:"invert,omitempty"`
	Match  *HeaderMatchMethod `json:"match,omitempty"`
	Name   string             `json:"name"`
}

// HttpGatewayRouteAction sends matched requests to a virtual service.
type HttpGatewayRouteAction struct {
	Rewrite *HttpGatewayRouteRewrite `json:"rewrite,omitempty"`
	Target  *GatewayRouteTarget      `json:"target"`
}

// GatewayRouteTarget is the virtual service (and port) a gateway route feeds.
type GatewayRouteTarget struct {
	Port           *int32                      `json:"port,omitempty"`
	VirtualService *GatewayRouteVirtualService `json:"virtualService"`
}

// GatewayRouteVirtualService names the target virtual service.
type GatewayRouteVirtualService struct {
	VirtualServiceName string `json:"virtualServiceName"`
}

// HttpGatewayRouteRewrite rewrites host, path or prefix before forwarding.
type HttpGatewayRouteRewrite struct {
	Hostname *GatewayRouteHostnameRewrite   `json:"hostname,omitempty"`
	Path     *HttpGatewayRoutePathRewrite   `json:"path,omitempty"`
	Prefix   *HttpGatewayRoutePrefixRewrite `json:"prefix,omitempty"`
}

// GatewayRouteHostnameRewrite controls rewriting Host to the target name.
type GatewayRouteHostnameRewrite struct {
	DefaultTargetHostname string `json:"defaultTargetHostname,omitempty"`
}

// HttpGatewayRoutePrefixRewrite controls rewriting the matched prefix.
type HttpGatewayRoutePrefixRewrite struct {
	DefaultPrefix string  `json:"defaultPrefix,omitempty"`
	Value         *string `json:"value,omitempty"`
}

// HttpGatewayRoutePathRewrite replaces the whole path.
type HttpGatewayRoutePathRewrite struct {
	Exact *string `json:"exact,omitempty"`
}

// Default rewrite switches.
const (
	RewriteEnabled  = "ENABLED"
	RewriteDisabled = "DISABLED"
)

// GrpcGatewayRoute is a gRPC gateway route.
type GrpcGatewayRoute struct {
	Action *GrpcGatewayRouteAction `json:"action"`
	Match  *GrpcGatewayRouteMatch  `json:"match"`
}

// GrpcGatewayRouteMatch selects gRPC calls entering the gateway.
type GrpcGatewayRouteMatch struct {
	Hostname    *GatewayRouteHostnameMatch `json:"hostname,omitempty"`
	Metadata    []GrpcGatewayRouteMetadata `json:"metadata,omitempty"`
	Port        *int32                     `json:"port,omitempty"`
	ServiceName *string                    `json:"serviceName,omitempty"`
}

// GrpcGatewayRouteMetadata matches one gRPC metadata entry.
type GrpcGatewayRouteMetadata struct {
	Invert *bool              `json:"invert,omitempty"`
	Match  *HeaderMatchMethod `json:"match,omitempty"`
	Name   string             `json:"name"`
}

// GrpcGatewayRouteAction sends matched calls to a virtual service.
type GrpcGatewayRouteAction struct {
	Rewrite *GrpcGatewayRouteRewrite `json:"rewrite,omitempty"`
	Target  *GatewayRouteTarget      `json:"target"`
}

// GrpcGatewayRouteRewrite rewrites the host before forwarding.
type GrpcGatewayRouteRewrite struct {
	Hostname *GatewayRouteHostnameRewrite `json:"hostname,omitempty"`
}

// Protocol returns the protocol of the route type that is set ("" if none).
func (s *GatewayRouteSpec) Protocol() string {
	switch {
	case s.HttpRoute != nil:
		return ProtocolHTTP
	case s.Http2Route != nil:
		return ProtocolHTTP2
	case s.GrpcRoute != nil:
		return ProtocolGRPC
	}
	return ""
}

// Target returns the target of whichever route type is set.
func (s *GatewayRouteSpec) Target() *GatewayRouteTarget {
	switch {
	case s.HttpRoute != nil && s.HttpRoute.Action != nil:
		return s.HttpRoute.Action.Target
	case s.Http2Route != nil && s.Http2Route.Action != nil:
		return s.Http2Route.Action.Target
	case s.GrpcRoute != nil && s.GrpcRoute.Action != nil:
		return s.GrpcRoute.Action.Target
	}
	return nil
}

// MatchPort returns the match.port of whichever route type is set.
func (s *GatewayRouteSpec) MatchPort() *int32 {
	switch {
	case s.HttpRoute != nil && s.HttpRoute.Match != nil:
		return s.HttpRoute.Match.Port
	case s.Http2Route != nil && s.Http2Route.Match != nil:
		return s.Http2Route.Match.Port
	case s.GrpcRoute != nil && s.GrpcRoute.Match != nil:
		return s.GrpcRoute.Match.Port
	}
	return nil
}
