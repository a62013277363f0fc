package validation

import (
	"fmt"
	"strings"
	"testing"

	"github.com/trellis-mesh/trellis/internal/apis/appmesh"
)

type grCase = ruleCase[appmesh.GatewayRouteSpec]

const (
	ghr  = "spec.httpRoute"
	ghrm = "spec.httpRoute.match"
	ghrw = "spec.httpRoute.action.rewrite"
)

func TestGatewayRouteSpecAndTargetRules(t *testing.T) {
	tg := func(s *appmesh.GatewayRouteSpec) *appmesh.GatewayRouteTarget { return s.HttpRoute.Action.Target }
	runRules(t, appmesh.KindGatewayRoute, fullGatewayHTTPRoute, []grCase{
		{name: "no route type", mutate: func(s *appmesh.GatewayRouteSpec) { s.HttpRoute = nil },
			field: "spec", rule: "must set exactly one of grpcRoute|http2Route|httpRoute, got 0"},
		{name: "two route types", mutate: func(s *appmesh.GatewayRouteSpec) { s.GrpcRoute = fullGatewayGRPCRoute().GrpcRoute },
			field: "spec", rule: "got 2 (grpcRoute, httpRoute)"},
		{name: "priority", mutate: func(s *appmesh.GatewayRouteSpec) { s.Priority = ptr(int32(1001)) },
			field: "spec.priority", rule: "must be 0..1000"},
		{name: "action required", mutate: func(s *appmesh.GatewayRouteSpec) { s.HttpRoute.Action = nil },
			field: ghr + ".action", rule: "is required"},
		{name: "target required", mutate: func(s *appmesh.GatewayRouteSpec) { s.HttpRoute.Action.Target = nil },
			field: ghr + ".action.target", rule: "is required"},
		{name: "target virtual service required", mutate: func(s *appmesh.GatewayRouteSpec) { tg(s).VirtualService = nil },
			field: ghr + ".action.target.virtualService", rule: "is required"},
		{name: "target name required", mutate: func(s *appmesh.GatewayRouteSpec) { tg(s).VirtualService.VirtualServiceName = "" },
			field: ghr + ".action.target.virtualService.virtualServiceName", rule: "is required"},
		{name: "target name length", mutate: func(s *appmesh.GatewayRouteSpec) {
			tg(s).VirtualService.VirtualServiceName = strings.Repeat("v", 256)
		}, field: ghr + ".action.target.virtualService.virtualServiceName", rule: "length must be 1..255"},
		{name: "target port", mutate: func(s *appmesh.GatewayRouteSpec) { tg(s).Port = ptr(int32(0)) },
			field: ghr + ".action.target.port", rule: "must be 1..65535"},
	})
}

func TestGatewayHTTPMatchRules(t *testing.T) {
	m := func(s *appmesh.GatewayRouteSpec) *appmesh.HttpGatewayRouteMatch { return s.HttpRoute.Match }
	eleven := make([]appmesh.HttpGatewayRouteHeader, 11)
	for i := range eleven {
		eleven[i] = appmesh.HttpGatewayRouteHeader{Name: fmt.Sprint("h", i)}
	}
	runRules(t, appmesh.KindGatewayRoute, fullGatewayHTTPRoute, []grCase{
		{name: "match required", mutate: func(s *appmesh.GatewayRouteSpec) { s.HttpRoute.Match = nil },
			field: ghrm, rule: "is required", others: true},
		{name: "prefix and path", mutate: func(s *appmesh.GatewayRouteSpec) { m(s).Path = &appmesh.HttpPathMatch{Exact: ptr("/x")} },
			field: ghrm, rule: "must set at most one of path|prefix, got 2 (path, prefix)"},
		{name: "prefix slash", mutate: func(s *appmesh.GatewayRouteSpec) { m(s).Prefix = ptr("paths/") },
			field: ghrm + ".prefix", rule: `must start with "/"`},
		{name: "reserved prefix appmesh", mutate: func(s *appmesh.GatewayRouteSpec) { m(s).Prefix = ptr("/aws-appmesh/x/") },
			field: ghrm + ".prefix", rule: `must not start with "/aws-appmesh" (reserved)`},
		{name: "reserved prefix app-mesh", mutate: func(s *appmesh.GatewayRouteSpec) { m(s).Prefix = ptr("/aws-app-mesh") },
			field: ghrm + ".prefix", rule: `must not start with "/aws-app-mesh" (reserved)`},
		{name: "hostname empty", mutate: func(s *appmesh.GatewayRouteSpec) { m(s).Hostname = &appmesh.GatewayRouteHostnameMatch{} },
			field: ghrm + ".hostname", rule: "must set exactly one of exact|suffix, got 0"},
		{name: "hostname both", mutate: func(s *appmesh.GatewayRouteSpec) { m(s).Hostname.Suffix = ptr(".com") },
			field: ghrm + ".hostname", rule: "got 2 (exact, suffix)"},
		{name: "hostname exact length", mutate: func(s *appmesh.GatewayRouteSpec) { m(s).Hostname.Exact = ptr(strings.Repeat("h", 254)) },
			field: ghrm + ".hostname.exact", rule: "length must be 1..253"},
		{name: "hostname suffix length", base: fullGatewayHTTP2Route, mutate: func(s *appmesh.GatewayRouteSpec) {
			s.Http2Route.Match.Hostname.Suffix = ptr("")
		}, field: "spec.http2Route.match.hostname.suffix", rule: "length must be 1..253"},
		{name: "headers too many", mutate: func(s *appmesh.GatewayRouteSpec) { m(s).Headers = eleven },
			field: ghrm + ".headers", rule: "must have 1..10 items"},
		{name: "header name", mutate: func(s *appmesh.GatewayRouteSpec) { m(s).Headers[1].Name = "" },
			field: ghrm + ".headers[1].name", rule: "is required"},
		{name: "header match empty", mutate: func(s *appmesh.GatewayRouteSpec) { m(s).Headers[1].Match = &appmesh.HeaderMatchMethod{} },
			field: ghrm + ".headers[1].match", rule: "must have exactly one member, got 0"},
		{name: "method", mutate: func(s *appmesh.GatewayRouteSpec) { m(s).Method = "FETCH" },
			field: ghrm + ".method", rule: "must be one of GET|"},
		{name: "port", mutate: func(s *appmesh.GatewayRouteSpec) { m(s).Port = ptr(int32(0)) },
			field: ghrm + ".port", rule: "must be 1..65535"},
		{name: "query name", mutate: func(s *appmesh.GatewayRouteSpec) { m(s).QueryParameters[0].Name = "" },
			field: ghrm + ".queryParameters[0].name", rule: "is required"},
		{name: "query empty", mutate: func(s *appmesh.GatewayRouteSpec) { m(s).QueryParameters = []appmesh.HttpQueryParameter{} },
			field: ghrm + ".queryParameters", rule: "must have 1..10 items"},
		{name: "path empty", base: fullGatewayHTTP2Route, mutate: func(s *appmesh.GatewayRouteSpec) {
			s.Http2Route.Match.Path = &appmesh.HttpPathMatch{}
		}, field: "spec.http2Route.match.path", rule: "must set exactly one of exact|regex, got 0"},
	})
}

func TestGatewayHTTPRewriteRules(t *testing.T) {
	rw := func(s *appmesh.GatewayRouteSpec) *appmesh.HttpGatewayRouteRewrite { return s.HttpRoute.Action.Rewrite }
	runRules(t, appmesh.KindGatewayRoute, fullGatewayHTTPRoute, []grCase{
		{name: "prefix rewrite needs prefix match", base: fullGatewayHTTP2Route, mutate: func(s *appmesh.GatewayRouteSpec) {
			s.Http2Route.Action.Rewrite.Path = nil
			s.Http2Route.Action.Rewrite.Prefix = &appmesh.HttpGatewayRoutePrefixRewrite{DefaultPrefix: "DISABLED"}
		}, field: "spec.http2Route.action.rewrite.prefix", rule: "requires match.prefix"},
		{name: "path rewrite needs path match", mutate: func(s *appmesh.GatewayRouteSpec) {
			rw(s).Prefix, rw(s).Path = nil, &appmesh.HttpGatewayRoutePathRewrite{Exact: ptr("/x")}
		}, field: ghrw + ".path", rule: "requires match.path"},
		{name: "prefix rewrite both", mutate: func(s *appmesh.GatewayRouteSpec) { rw(s).Prefix.DefaultPrefix = "DISABLED" },
			field: ghrw + ".prefix", rule: "must set at most one of defaultPrefix|value, got 2"},
		{name: "default prefix enum", base: fullGatewayHTTPRouteDefaultPrefix, mutate: func(s *appmesh.GatewayRouteSpec) {
			rw(s).Prefix.DefaultPrefix = "enabled"
		}, field: ghrw + ".prefix.defaultPrefix", rule: "must be one of ENABLED|DISABLED"},
		{name: "prefix value start", mutate: func(s *appmesh.GatewayRouteSpec) { rw(s).Prefix.Value = ptr("v2/") },
			field: ghrw + ".prefix.value", rule: `must start and end with "/"`},
		{name: "prefix value end", mutate: func(s *appmesh.GatewayRouteSpec) { rw(s).Prefix.Value = ptr("/v2") },
			field: ghrw + ".prefix.value", rule: `must start and end with "/"`},
		{name: "prefix value length", mutate: func(s *appmesh.GatewayRouteSpec) { rw(s).Prefix.Value = ptr("") },
			field: ghrw + ".prefix.value", rule: "length must be 1..255"},
		{name: "path rewrite length", base: fullGatewayHTTP2Route, mutate: func(s *appmesh.GatewayRouteSpec) {
			s.Http2Route.Action.Rewrite.Path.Exact = ptr(strings.Repeat("p", 256))
		}, field: "spec.http2Route.action.rewrite.path.exact", rule: "length must be 1..255"},
		{name: "hostname rewrite enum", mutate: func(s *appmesh.GatewayRouteSpec) { rw(s).Hostname.DefaultTargetHostname = "OFF" },
			field: ghrw + ".hostname.defaultTargetHostname", rule: "must be one of ENABLED|DISABLED"},
	})
}

func TestGatewayGRPCRouteRules(t *testing.T) {
	g := func(s *appmesh.GatewayRouteSpec) *appmesh.GrpcGatewayRoute { return s.GrpcRoute }
	const gg = "spec.grpcRoute"
	runRules(t, appmesh.KindGatewayRoute, fullGatewayGRPCRoute, []grCase{
		{name: "action required", mutate: func(s *appmesh.GatewayRouteSpec) { g(s).Action = nil }, field: gg + ".action", rule: "is required"},
		{name: "rewrite hostname", mutate: func(s *appmesh.GatewayRouteSpec) { g(s).Action.Rewrite.Hostname.DefaultTargetHostname = "x" },
			field: gg + ".action.rewrite.hostname.defaultTargetHostname", rule: "must be one of ENABLED|DISABLED"},
		{name: "target required", mutate: func(s *appmesh.GatewayRouteSpec) { g(s).Action.Target = nil },
			field: gg + ".action.target", rule: "is required"},
		{name: "match required", mutate: func(s *appmesh.GatewayRouteSpec) { g(s).Match = nil }, field: gg + ".match", rule: "is required"},
		{name: "hostname both", mutate: func(s *appmesh.GatewayRouteSpec) { g(s).Match.Hostname.Suffix = ptr("x") },
			field: gg + ".match.hostname", rule: "got 2 (exact, suffix)"},
		{name: "metadata empty", mutate: func(s *appmesh.GatewayRouteSpec) { g(s).Match.Metadata = []appmesh.GrpcGatewayRouteMetadata{} },
			field: gg + ".match.metadata", rule: "must have 1..10 items"},
		{name: "metadata name", mutate: func(s *appmesh.GatewayRouteSpec) { g(s).Match.Metadata[3].Name = strings.Repeat("n", 51) },
			field: gg + ".match.metadata[3].name", rule: "length must be 1..50"},
		{name: "metadata range", mutate: func(s *appmesh.GatewayRouteSpec) { g(s).Match.Metadata[2].Match.Range.Start = 100 },
			field: gg + ".match.metadata[2].match.range.end", rule: "must be greater than start"},
		{name: "port", mutate: func(s *appmesh.GatewayRouteSpec) { g(s).Match.Port = ptr(int32(65536)) },
			field: gg + ".match.port", rule: "must be 1..65535"},
		{name: "reserved service prefix", mutate: func(s *appmesh.GatewayRouteSpec) { g(s).Match.ServiceName = ptr("aws.app-mesh.Admin") },
			field: gg + ".match.serviceName", rule: "(reserved)"},
		{name: "reserved service name", mutate: func(s *appmesh.GatewayRouteSpec) { g(s).Match.ServiceName = ptr("aws.appmesh") },
			field: gg + ".match.serviceName", rule: "(reserved)"},
	})
}

func TestGatewayRouteValidEdges(t *testing.T) {
	hostOnly := fullGatewayHTTPRoute()
	hostOnly.HttpRoute.Match = &appmesh.HttpGatewayRouteMatch{Hostname: &appmesh.GatewayRouteHostnameMatch{Suffix: ptr("example.com")}}
	hostOnly.HttpRoute.Action.Rewrite = nil
	regexRewrite := fullGatewayHTTP2Route()
	regexRewrite.Http2Route.Match.Path = &appmesh.HttpPathMatch{Regex: ptr("^/a/.*$")}
	emptyRewrites := fullGatewayHTTPRoute()
	emptyRewrites.HttpRoute.Action.Rewrite = &appmesh.HttpGatewayRouteRewrite{
		Hostname: &appmesh.GatewayRouteHostnameRewrite{}, Prefix: &appmesh.HttpGatewayRoutePrefixRewrite{},
	}
	notReserved := fullGatewayGRPCRoute()
	notReserved.GrpcRoute.Match.ServiceName = ptr("aws.appmeshx")
	grpcEmptyMatch := fullGatewayGRPCRoute()
	grpcEmptyMatch.GrpcRoute.Match = &appmesh.GrpcGatewayRouteMatch{}
	runValid(t, []validCase{
		{"hostname only", appmesh.KindGatewayRoute, hostOnly},
		{"path rewrite with regex match", appmesh.KindGatewayRoute, regexRewrite},
		{"empty rewrites", appmesh.KindGatewayRoute, emptyRewrites},
		{"similar to reserved service", appmesh.KindGatewayRoute, notReserved},
		{"grpc empty match", appmesh.KindGatewayRoute, grpcEmptyMatch},
	})
}
