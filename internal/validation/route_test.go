package validation

import (
	"fmt"
	"strings"
	"testing"

	"github.com/trellis-mesh/trellis/internal/apis/appmesh"
)

type rtCase = ruleCase[appmesh.RouteSpec]

const (
	hr  = "spec.httpRoute"
	hrm = "spec.httpRoute.match"
	hrr = "spec.httpRoute.retryPolicy"
	wts = "spec.httpRoute.action.weightedTargets"
)

func TestRouteSpecRules(t *testing.T) {
	runRules(t, appmesh.KindRoute, fullHTTPRoute, []rtCase{
		{name: "no route type", mutate: func(s *appmesh.RouteSpec) { s.HttpRoute = nil },
			field: "spec", rule: "must set exactly one of grpcRoute|http2Route|httpRoute|tcpRoute, got 0"},
		{name: "two route types", mutate: func(s *appmesh.RouteSpec) { s.TcpRoute = fullTCPRoute().TcpRoute },
			field: "spec", rule: "got 2 (httpRoute, tcpRoute)"},
		{name: "priority low", mutate: func(s *appmesh.RouteSpec) { s.Priority = ptr(int32(-1)) },
			field: "spec.priority", rule: "must be 0..1000"},
		{name: "priority high", mutate: func(s *appmesh.RouteSpec) { s.Priority = ptr(int32(1001)) },
			field: "spec.priority", rule: "must be 0..1000"},
	})
}

func TestRouteWeightedTargetRules(t *testing.T) {
	tg := func(s *appmesh.RouteSpec) []appmesh.WeightedTarget { return s.HttpRoute.Action.WeightedTargets }
	eleven := make([]appmesh.WeightedTarget, 11)
	for i := range eleven {
		eleven[i] = appmesh.WeightedTarget{VirtualNode: fmt.Sprint("vn", i)}
	}
	runRules(t, appmesh.KindRoute, fullHTTPRoute, []rtCase{
		{name: "action required", mutate: func(s *appmesh.RouteSpec) { s.HttpRoute.Action = nil },
			field: hr + ".action", rule: "is required"},
		{name: "targets required", mutate: func(s *appmesh.RouteSpec) { s.HttpRoute.Action.WeightedTargets = nil },
			field: wts, rule: "is required"},
		{name: "targets empty", mutate: func(s *appmesh.RouteSpec) { s.HttpRoute.Action.WeightedTargets = []appmesh.WeightedTarget{} },
			field: wts, rule: "must have 1..10 items"},
		{name: "targets too many", mutate: func(s *appmesh.RouteSpec) { s.HttpRoute.Action.WeightedTargets = eleven },
			field: wts, rule: "must have 1..10 items"},
		{name: "weight high", mutate: func(s *appmesh.RouteSpec) { tg(s)[0].Weight, tg(s)[1].Weight = 101, 0 },
			field: wts + "[0].weight", rule: "must be 0..100", others: true},
		{name: "weight negative", mutate: func(s *appmesh.RouteSpec) { tg(s)[1].Weight = -1 },
			field: wts + "[1].weight", rule: "must be 0..100"},
		{name: "weight sum", mutate: func(s *appmesh.RouteSpec) { tg(s)[1].Weight = 41 },
			field: wts, rule: "sum of weights must be <= 100, got 101"},
		{name: "virtual node required", mutate: func(s *appmesh.RouteSpec) { tg(s)[1].VirtualNode = "" },
			field: wts + "[1].virtualNode", rule: "is required"},
		{name: "virtual node length", mutate: func(s *appmesh.RouteSpec) { tg(s)[1].VirtualNode = strings.Repeat("v", 256) },
			field: wts + "[1].virtualNode", rule: "length must be 1..255"},
		{name: "target port", mutate: func(s *appmesh.RouteSpec) { tg(s)[0].Port = ptr(int32(0)) },
			field: wts + "[0].port", rule: "must be 1..65535"},
		{name: "duplicate target", mutate: func(s *appmesh.RouteSpec) { tg(s)[2].Port = ptr(int32(8080)) },
			field: wts + "[2]", rule: `duplicate target "serviceB-v1" port 8080`},
		{name: "duplicate target without port", mutate: func(s *appmesh.RouteSpec) { tg(s)[2].Port, tg(s)[2].VirtualNode = nil, "serviceB-v2" },
			field: wts + "[2]", rule: `duplicate target "serviceB-v2"`},
	})
}

func TestHTTPRouteMatchRules(t *testing.T) {
	m := func(s *appmesh.RouteSpec) *appmesh.HttpRouteMatch { return s.HttpRoute.Match }
	eleven := make([]appmesh.HttpRouteHeader, 11)
	elevenQ := make([]appmesh.HttpQueryParameter, 11)
	for i := range eleven {
		eleven[i] = appmesh.HttpRouteHeader{Name: fmt.Sprint("h", i)}
		elevenQ[i] = appmesh.HttpQueryParameter{Name: fmt.Sprint("q", i)}
	}
	runRules(t, appmesh.KindRoute, fullHTTPRoute, []rtCase{
		{name: "match required", mutate: func(s *appmesh.RouteSpec) { s.HttpRoute.Match = nil },
			field: hrm, rule: "is required"},
		{name: "prefix and path", mutate: func(s *appmesh.RouteSpec) { m(s).Path = &appmesh.HttpPathMatch{Exact: ptr("/a")} },
			field: hrm, rule: "must set at most one of path|prefix, got 2 (path, prefix)"},
		{name: "prefix slash", mutate: func(s *appmesh.RouteSpec) { m(s).Prefix = ptr("api") },
			field: hrm + ".prefix", rule: `must start with "/"`},
		{name: "prefix empty", mutate: func(s *appmesh.RouteSpec) { m(s).Prefix = ptr("") },
			field: hrm + ".prefix", rule: `must start with "/"`},
		{name: "path empty", base: fullHTTPRoutePathExact, mutate: func(s *appmesh.RouteSpec) { m(s).Path = &appmesh.HttpPathMatch{} },
			field: hrm + ".path", rule: "must set exactly one of exact|regex, got 0"},
		{name: "path both", base: fullHTTPRoutePathExact, mutate: func(s *appmesh.RouteSpec) { m(s).Path.Regex = ptr("x") },
			field: hrm + ".path", rule: "got 2 (exact, regex)"},
		{name: "path exact length", base: fullHTTPRoutePathExact, mutate: func(s *appmesh.RouteSpec) { m(s).Path.Exact = ptr("") },
			field: hrm + ".path.exact", rule: "length must be 1..255"},
		{name: "path regex length", base: fullHTTP2Route, mutate: func(s *appmesh.RouteSpec) {
			s.Http2Route.Match.Path.Regex = ptr(strings.Repeat("r", 256))
		}, field: "spec.http2Route.match.path.regex", rule: "length must be 1..255"},
		{name: "headers empty", mutate: func(s *appmesh.RouteSpec) { m(s).Headers = []appmesh.HttpRouteHeader{} },
			field: hrm + ".headers", rule: "must have 1..10 items"},
		{name: "headers too many", mutate: func(s *appmesh.RouteSpec) { m(s).Headers = eleven },
			field: hrm + ".headers", rule: "must have 1..10 items"},
		{name: "header name required", mutate: func(s *appmesh.RouteSpec) { m(s).Headers[0].Name = "" },
			field: hrm + ".headers[0].name", rule: "is required"},
		{name: "header name length", mutate: func(s *appmesh.RouteSpec) { m(s).Headers[0].Name = strings.Repeat("h", 51) },
			field: hrm + ".headers[0].name", rule: "length must be 1..50"},
		{name: "header match empty", mutate: func(s *appmesh.RouteSpec) { m(s).Headers[5].Match = &appmesh.HeaderMatchMethod{} },
			field: hrm + ".headers[5].match", rule: "must have exactly one member, got 0 (one of exact|prefix|range|regex|suffix)"},
		{name: "header match two", mutate: func(s *appmesh.RouteSpec) { m(s).Headers[0].Match.Prefix = ptr("p") },
			field: hrm + ".headers[0].match", rule: "must have exactly one member, got 2 (exact, prefix)"},
		{name: "header exact length", mutate: func(s *appmesh.RouteSpec) { m(s).Headers[0].Match.Exact = ptr("") },
			field: hrm + ".headers[0].match.exact", rule: "length must be 1..255"},
		{name: "header prefix length", mutate: func(s *appmesh.RouteSpec) { m(s).Headers[1].Match.Prefix = ptr(strings.Repeat("p", 256)) },
			field: hrm + ".headers[1].match.prefix", rule: "length must be 1..255"},
		{name: "header range", mutate: func(s *appmesh.RouteSpec) { m(s).Headers[2].Match.Range.End = 1 },
			field: hrm + ".headers[2].match.range.end", rule: "must be greater than start"},
		{name: "header regex length", mutate: func(s *appmesh.RouteSpec) { m(s).Headers[3].Match.Regex = ptr("") },
			field: hrm + ".headers[3].match.regex", rule: "length must be 1..255"},
		{name: "header suffix length", mutate: func(s *appmesh.RouteSpec) { m(s).Headers[4].Match.Suffix = ptr("") },
			field: hrm + ".headers[4].match.suffix", rule: "length must be 1..255"},
		{name: "method enum", mutate: func(s *appmesh.RouteSpec) { m(s).Method = "get" },
			field: hrm + ".method", rule: "must be one of GET|HEAD|POST|PUT|DELETE|CONNECT|OPTIONS|TRACE|PATCH"},
		{name: "scheme enum", mutate: func(s *appmesh.RouteSpec) { m(s).Scheme = "HTTPS" },
			field: hrm + ".scheme", rule: "must be one of http|https"},
		{name: "port", mutate: func(s *appmesh.RouteSpec) { m(s).Port = ptr(int32(65536)) },
			field: hrm + ".port", rule: "must be 1..65535"},
		{name: "query empty", mutate: func(s *appmesh.RouteSpec) { m(s).QueryParameters = []appmesh.HttpQueryParameter{} },
			field: hrm + ".queryParameters", rule: "must have 1..10 items"},
		{name: "query too many", mutate: func(s *appmesh.RouteSpec) { m(s).QueryParameters = elevenQ },
			field: hrm + ".queryParameters", rule: "must have 1..10 items"},
		{name: "query name required", mutate: func(s *appmesh.RouteSpec) { m(s).QueryParameters[1].Name = "" },
			field: hrm + ".queryParameters[1].name", rule: "is required"},
	})
}

func TestHTTPRouteRetryAndTimeoutRules(t *testing.T) {
	rp := func(s *appmesh.RouteSpec) *appmesh.HttpRetryPolicy { return s.HttpRoute.RetryPolicy }
	many := make([]string, 26)
	for i := range many {
		many[i] = "server-error"
	}
	runRules(t, appmesh.KindRoute, fullHTTPRoute, []rtCase{
		{name: "max retries required", mutate: func(s *appmesh.RouteSpec) { rp(s).MaxRetries = nil },
			field: hrr + ".maxRetries", rule: "is required"},
		{name: "max retries negative", mutate: func(s *appmesh.RouteSpec) { rp(s).MaxRetries = ptr(int64(-1)) },
			field: hrr + ".maxRetries", rule: "must be >= 0"},
		{name: "per retry timeout required", mutate: func(s *appmesh.RouteSpec) { rp(s).PerRetryTimeout = nil },
			field: hrr + ".perRetryTimeout", rule: "is required"},
		{name: "per retry timeout value", mutate: func(s *appmesh.RouteSpec) { rp(s).PerRetryTimeout.Value = nil },
			field: hrr + ".perRetryTimeout.value", rule: "is required"},
		{name: "per retry timeout unit", mutate: func(s *appmesh.RouteSpec) { rp(s).PerRetryTimeout.Unit = "us" },
			field: hrr + ".perRetryTimeout.unit", rule: "must be one of s|ms"},
		{name: "http events empty", mutate: func(s *appmesh.RouteSpec) { rp(s).HttpRetryEvents = []string{} },
			field: hrr + ".httpRetryEvents", rule: "must have 1..25 items"},
		{name: "http events too many", mutate: func(s *appmesh.RouteSpec) { rp(s).HttpRetryEvents = many },
			field: hrr + ".httpRetryEvents", rule: "must have 1..25 items"},
		{name: "http event empty", mutate: func(s *appmesh.RouteSpec) { rp(s).HttpRetryEvents[0] = "" },
			field: hrr + ".httpRetryEvents[0]", rule: "is required"},
		{name: "http event length", mutate: func(s *appmesh.RouteSpec) { rp(s).HttpRetryEvents[1] = strings.Repeat("e", 26) },
			field: hrr + ".httpRetryEvents[1]", rule: "length must be 1..25"},
		{name: "tcp events two", mutate: func(s *appmesh.RouteSpec) { rp(s).TcpRetryEvents = []string{"connection-error", "connection-error"} },
			field: hrr + ".tcpRetryEvents", rule: "must have exactly 1 item"},
		{name: "tcp event enum", mutate: func(s *appmesh.RouteSpec) { rp(s).TcpRetryEvents[0] = "timeout" },
			field: hrr + ".tcpRetryEvents[0]", rule: "must be one of connection-error"},
		{name: "no events", mutate: func(s *appmesh.RouteSpec) { rp(s).HttpRetryEvents, rp(s).TcpRetryEvents = nil, nil },
			field: hrr, rule: "must have at least one of httpRetryEvents|tcpRetryEvents"},
		{name: "timeout unit", mutate: func(s *appmesh.RouteSpec) { s.HttpRoute.Timeout.PerRequest.Unit = "" },
			field: hr + ".timeout.perRequest.unit", rule: "is required"},
	})
}

func TestGRPCAndTCPRouteRules(t *testing.T) {
	g := func(s *appmesh.RouteSpec) *appmesh.GrpcRoute { return s.GrpcRoute }
	const gr = "spec.grpcRoute"
	runRules(t, appmesh.KindRoute, fullGRPCRoute, []rtCase{
		{name: "action required", mutate: func(s *appmesh.RouteSpec) { g(s).Action = nil }, field: gr + ".action", rule: "is required"},
		{name: "targets empty", mutate: func(s *appmesh.RouteSpec) { g(s).Action.WeightedTargets = []appmesh.WeightedTarget{} },
			field: gr + ".action.weightedTargets", rule: "must have 1..10 items"},
		{name: "match required", mutate: func(s *appmesh.RouteSpec) { g(s).Match = nil }, field: gr + ".match", rule: "is required"},
		{name: "metadata empty", mutate: func(s *appmesh.RouteSpec) { g(s).Match.Metadata = []appmesh.GrpcRouteMetadata{} },
			field: gr + ".match.metadata", rule: "must have 1..10 items"},
		{name: "metadata name", mutate: func(s *appmesh.RouteSpec) { g(s).Match.Metadata[0].Name = strings.Repeat("m", 51) },
			field: gr + ".match.metadata[0].name", rule: "length must be 1..50"},
		{name: "metadata match two", mutate: func(s *appmesh.RouteSpec) { g(s).Match.Metadata[2].Match.Suffix = ptr("s") },
			field: gr + ".match.metadata[2].match", rule: "got 2 (range, suffix)"},
		{name: "method name length", mutate: func(s *appmesh.RouteSpec) { g(s).Match.MethodName = ptr(strings.Repeat("m", 51)) },
			field: gr + ".match.methodName", rule: "length must be 1..50"},
		{name: "method name needs service", mutate: func(s *appmesh.RouteSpec) { g(s).Match.ServiceName = nil },
			field: gr + ".match.methodName", rule: "requires serviceName"},
		{name: "port", mutate: func(s *appmesh.RouteSpec) { g(s).Match.Port = ptr(int32(0)) },
			field: gr + ".match.port", rule: "must be 1..65535"},
		{name: "grpc events empty", mutate: func(s *appmesh.RouteSpec) { g(s).RetryPolicy.GrpcRetryEvents = []string{} },
			field: gr + ".retryPolicy.grpcRetryEvents", rule: "must have 1..5 items"},
		{name: "grpc events too many", mutate: func(s *appmesh.RouteSpec) {
			g(s).RetryPolicy.GrpcRetryEvents = append(g(s).RetryPolicy.GrpcRetryEvents, "internal")
		}, field: gr + ".retryPolicy.grpcRetryEvents", rule: "must have 1..5 items"},
		{name: "grpc event enum", mutate: func(s *appmesh.RouteSpec) { g(s).RetryPolicy.GrpcRetryEvents[0] = "Cancelled" },
			field: gr + ".retryPolicy.grpcRetryEvents[0]", rule: "must be one of cancelled|deadline-exceeded|internal|resource-exhausted|unavailable"},
		{name: "no events", mutate: func(s *appmesh.RouteSpec) {
			r := g(s).RetryPolicy
			r.GrpcRetryEvents, r.HttpRetryEvents, r.TcpRetryEvents = nil, nil, nil
		}, field: gr + ".retryPolicy", rule: "must have at least one of grpcRetryEvents|httpRetryEvents|tcpRetryEvents"},
		{name: "max retries", mutate: func(s *appmesh.RouteSpec) { g(s).RetryPolicy.MaxRetries = nil },
			field: gr + ".retryPolicy.maxRetries", rule: "is required"},
		{name: "http event", mutate: func(s *appmesh.RouteSpec) { g(s).RetryPolicy.HttpRetryEvents[0] = "" },
			field: gr + ".retryPolicy.httpRetryEvents[0]", rule: "is required"},
		{name: "timeout", mutate: func(s *appmesh.RouteSpec) { g(s).Timeout.Idle.Value = ptr(int64(-1)) },
			field: gr + ".timeout.idle.value", rule: "must be >= 0"},
		{name: "tcp action required", base: fullTCPRoute, mutate: func(s *appmesh.RouteSpec) { s.TcpRoute.Action = nil },
			field: "spec.tcpRoute.action", rule: "is required"},
		{name: "tcp weight sum", base: fullTCPRoute, mutate: func(s *appmesh.RouteSpec) {
			s.TcpRoute.Action.WeightedTargets = append(s.TcpRoute.Action.WeightedTargets, appmesh.WeightedTarget{VirtualNode: "db2", Weight: 1})
		}, field: "spec.tcpRoute.action.weightedTargets", rule: "sum of weights must be <= 100, got 101"},
		{name: "tcp match port", base: fullTCPRoute, mutate: func(s *appmesh.RouteSpec) { s.TcpRoute.Match.Port = ptr(int32(-3)) },
			field: "spec.tcpRoute.match.port", rule: "must be 1..65535"},
		{name: "tcp timeout", base: fullTCPRoute, mutate: func(s *appmesh.RouteSpec) { s.TcpRoute.Timeout.Idle.Unit = "" },
			field: "spec.tcpRoute.timeout.idle.unit", rule: "is required"},
		{name: "http2 match", base: fullHTTP2Route, mutate: func(s *appmesh.RouteSpec) { s.Http2Route.Match.Prefix = ptr("/") },
			field: "spec.http2Route.match", rule: "must set at most one of path|prefix, got 2 (path, prefix)"},
	})
}

func TestRouteValidEdges(t *testing.T) {
	serviceOnly := fullGRPCRoute()
	serviceOnly.GrpcRoute.Match = &appmesh.GrpcRouteMatch{ServiceName: ptr("svc")}
	emptyGrpcMatch := fullGRPCRoute()
	emptyGrpcMatch.GrpcRoute.Match = &appmesh.GrpcRouteMatch{}
	zeroWeights := fullTCPRoute()
	zeroWeights.TcpRoute.Action.WeightedTargets[0].Weight = 0
	noTCPMatch := fullTCPRoute()
	noTCPMatch.TcpRoute.Match = nil
	minimal := &appmesh.RouteSpec{HttpRoute: &appmesh.HttpRoute{
		Action: &appmesh.HttpRouteAction{WeightedTargets: []appmesh.WeightedTarget{{VirtualNode: "a"}}},
		Match:  &appmesh.HttpRouteMatch{Prefix: ptr("/")},
	}}
	runValid(t, []validCase{
		{"grpc service only", appmesh.KindRoute, serviceOnly},
		{"grpc empty match", appmesh.KindRoute, emptyGrpcMatch},
		{"zero weights", appmesh.KindRoute, zeroWeights},
		{"tcp without match", appmesh.KindRoute, noTCPMatch},
		{"minimal http", appmesh.KindRoute, minimal},
	})
}
