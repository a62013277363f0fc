package validation

import "github.com/trellis-mesh/trellis/internal/apis/appmesh"

func fullTargets() []appmesh.WeightedTarget {
	return []appmesh.WeightedTarget{
		{VirtualNode: "serviceB-v1", Weight: 60, Port: ptr(int32(8080))},
		{VirtualNode: "serviceB-v2", Weight: 40},
		{VirtualNode: "serviceB-v1", Weight: 0, Port: ptr(int32(8081))},
	}
}

func fullHeaders() []appmesh.HttpRouteHeader {
	return []appmesh.HttpRouteHeader{
		{Name: "x-exact", Match: &appmesh.HeaderMatchMethod{Exact: ptr("a")}, Invert: ptr(true)},
		{Name: "x-prefix", Match: &appmesh.HeaderMatchMethod{Prefix: ptr("b")}},
		{Name: "x-range", Match: &appmesh.HeaderMatchMethod{Range: &appmesh.MatchRange{Start: 1, End: 100}}},
		{Name: "x-regex", Match: &appmesh.HeaderMatchMethod{Regex: ptr("^c+$")}},
		{Name: "x-suffix", Match: &appmesh.HeaderMatchMethod{Suffix: ptr("d")}},
		{Name: "x-present"},
	}
}

func fullQuery() []appmesh.HttpQueryParameter {
	return []appmesh.HttpQueryParameter{
		{Name: "version", Match: &appmesh.QueryParameterMatch{Exact: ptr("2")}},
		{Name: "debug"},
	}
}

// fullHTTPRoute matches on a prefix.
func fullHTTPRoute() *appmesh.RouteSpec {
	return &appmesh.RouteSpec{
		Priority: ptr(int32(1000)),
		HttpRoute: &appmesh.HttpRoute{
			Action: &appmesh.HttpRouteAction{WeightedTargets: fullTargets()},
			Match: &appmesh.HttpRouteMatch{
				Headers: fullHeaders(), Method: "POST", Port: ptr(int32(8080)), Prefix: ptr("/"),
				QueryParameters: fullQuery(), Scheme: "https",
			},
			RetryPolicy: &appmesh.HttpRetryPolicy{
				HttpRetryEvents: []string{"server-error", "gateway-error", "client-error", "stream-error"},
				MaxRetries:      ptr(int64(3)),
				PerRetryTimeout: dur(2, "s"),
				TcpRetryEvents:  []string{"connection-error"},
			},
			Timeout: &appmesh.HttpTimeout{Idle: dur(0, "s"), PerRequest: dur(250, "ms")},
		},
	}
}

// fullHTTP2Route matches on a path regex.
func fullHTTP2Route() *appmesh.RouteSpec {
	s := fullHTTPRoute()
	s.Http2Route, s.HttpRoute = s.HttpRoute, nil
	s.Priority = ptr(int32(0))
	m := s.Http2Route.Match
	m.Prefix, m.Path = nil, &appmesh.HttpPathMatch{Regex: ptr("^/v[0-9]+/items$")}
	return s
}

// fullHTTPRoutePathExact matches on an exact path.
func fullHTTPRoutePathExact() *appmesh.RouteSpec {
	s := fullHTTPRoute()
	m := s.HttpRoute.Match
	m.Prefix, m.Path = nil, &appmesh.HttpPathMatch{Exact: ptr("/healthz")}
	return s
}

func fullGRPCRoute() *appmesh.RouteSpec {
	md := fullHeaders()
	metadata := make([]appmesh.GrpcRouteMetadata, len(md))
	for i, h := range md {
		metadata[i] = appmesh.GrpcRouteMetadata(h)
	}
	return &appmesh.RouteSpec{
		Priority: ptr(int32(5)),
		GrpcRoute: &appmesh.GrpcRoute{
			Action: &appmesh.GrpcRouteAction{WeightedTargets: fullTargets()},
			Match: &appmesh.GrpcRouteMatch{
				Metadata: metadata, MethodName: ptr("GetColor"), Port: ptr(int32(8082)),
				ServiceName: ptr("color.ColorService"),
			},
			RetryPolicy: &appmesh.GrpcRetryPolicy{
				GrpcRetryEvents: []string{"cancelled", "deadline-exceeded", "internal", "resource-exhausted", "unavailable"},
				HttpRetryEvents: []string{"server-error"},
				MaxRetries:      ptr(int64(0)),
				PerRetryTimeout: dur(100, "ms"),
				TcpRetryEvents:  []string{"connection-error"},
			},
			Timeout: &appmesh.GrpcTimeout{Idle: dur(30, "s"), PerRequest: dur(5, "s")},
		},
	}
}

func fullTCPRoute() *appmesh.RouteSpec {
	return &appmesh.RouteSpec{
		Priority: ptr(int32(10)),
		TcpRoute: &appmesh.TcpRoute{
			Action:  &appmesh.TcpRouteAction{WeightedTargets: []appmesh.WeightedTarget{{VirtualNode: "db", Weight: 100, Port: ptr(int32(5432))}}},
			Match:   &appmesh.TcpRouteMatch{Port: ptr(int32(5432))},
			Timeout: &appmesh.TcpTimeout{Idle: dur(600, "s")},
		},
	}
}

func gatewayHeaders() []appmesh.HttpGatewayRouteHeader {
	hs := fullHeaders()
	out := make([]appmesh.HttpGatewayRouteHeader, len(hs))
	for i, h := range hs {
		out[i] = appmesh.HttpGatewayRouteHeader(h)
	}
	return out
}

func gatewayTarget() *appmesh.GatewayRouteTarget {
	return &appmesh.GatewayRouteTarget{
		Port:           ptr(int32(8080)),
		VirtualService: &appmesh.GatewayRouteVirtualService{VirtualServiceName: "serviceb.apps.local"},
	}
}

// fullGatewayHTTPRoute matches on a prefix and rewrites it to a value.
func fullGatewayHTTPRoute() *appmesh.GatewayRouteSpec {
	return &appmesh.GatewayRouteSpec{
		Priority: ptr(int32(0)),
		HttpRoute: &appmesh.HttpGatewayRoute{
			Action: &appmesh.HttpGatewayRouteAction{
				Rewrite: &appmesh.HttpGatewayRouteRewrite{
					Hostname: &appmesh.GatewayRouteHostnameRewrite{DefaultTargetHostname: "DISABLED"},
					Prefix:   &appmesh.HttpGatewayRoutePrefixRewrite{Value: ptr("/v2/")},
				},
				Target: gatewayTarget(),
			},
			Match: &appmesh.HttpGatewayRouteMatch{
				Headers:         gatewayHeaders(),
				Hostname:        &appmesh.GatewayRouteHostnameMatch{Exact: ptr("www.example.com")},
				Method:          "GET",
				Port:            ptr(int32(8080)),
				Prefix:          ptr("/paths/"),
				QueryParameters: fullQuery(),
			},
		},
	}
}

// fullGatewayHTTP2Route matches on an exact path and rewrites the path.
func fullGatewayHTTP2Route() *appmesh.GatewayRouteSpec {
	s := fullGatewayHTTPRoute()
	s.Http2Route, s.HttpRoute = s.HttpRoute, nil
	r := s.Http2Route
	r.Match.Prefix, r.Match.Path = nil, &appmesh.HttpPathMatch{Exact: ptr("/rewrite/path/blue")}
	r.Match.Hostname = &appmesh.GatewayRouteHostnameMatch{Suffix: ptr(".example.com")}
	r.Action.Rewrite.Prefix, r.Action.Rewrite.Path = nil, &appmesh.HttpGatewayRoutePathRewrite{Exact: ptr("/blue")}
	return s
}

// fullGatewayHTTPRouteDefaultPrefix keeps the matched prefix.
func fullGatewayHTTPRouteDefaultPrefix() *appmesh.GatewayRouteSpec {
	s := fullGatewayHTTPRoute()
	s.HttpRoute.Action.Rewrite.Prefix = &appmesh.HttpGatewayRoutePrefixRewrite{DefaultPrefix: "ENABLED"}
	return s
}

func fullGatewayGRPCRoute() *appmesh.GatewayRouteSpec {
	hs := fullHeaders()
	md := make([]appmesh.GrpcGatewayRouteMetadata, len(hs))
	for i, h := range hs {
		md[i] = appmesh.GrpcGatewayRouteMetadata(h)
	}
	return &appmesh.GatewayRouteSpec{
		Priority: ptr(int32(1000)),
		GrpcRoute: &appmesh.GrpcGatewayRoute{
			Action: &appmesh.GrpcGatewayRouteAction{
				Rewrite: &appmesh.GrpcGatewayRouteRewrite{Hostname: &appmesh.GatewayRouteHostnameRewrite{DefaultTargetHostname: "ENABLED"}},
				Target:  gatewayTarget(),
			},
			Match: &appmesh.GrpcGatewayRouteMatch{
				Hostname:    &appmesh.GatewayRouteHostnameMatch{Exact: ptr("grpc.example.com")},
				Metadata:    md,
				Port:        ptr(int32(8082)),
				ServiceName: ptr("color.ColorService"),
			},
		},
	}
}
