package xdsgen

import (
	"errors"
	"fmt"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"

	"github.com/trellis-mesh/trellis/internal/ir"
)

// routeMatch maps the path matcher (exactly one of prefix, path, regex),
// the gRPC restriction, headers and query parameters.
func routeMatch(m *ir.RouteMatch) (*routev3.RouteMatch, error) {
	out := &routev3.RouteMatch{}
	set := 0
	if m.Prefix != "" {
		out.PathSpecifier = &routev3.RouteMatch_Prefix{Prefix: m.Prefix}
		set++
	}
	if m.Path != "" {
		out.PathSpecifier = &routev3.RouteMatch_Path{Path: m.Path}
		set++
	}
	if m.Regex != "" {
		out.PathSpecifier = &routev3.RouteMatch_SafeRegex{SafeRegex: regexMatcher(m.Regex)}
		set++
	}
	if set != 1 {
		return nil, fmt.Errorf("match needs exactly one of prefix, path and regex, has %d", set)
	}
	if m.GRPC {
		out.Grpc = &routev3.RouteMatch_GrpcRouteMatchOptions{}
	}
	for i := range m.Headers {
		h, err := headerMatcher(&m.Headers[i])
		if err != nil {
			return nil, fmt.Errorf("header %q: %w", m.Headers[i].Name, err)
		}
		out.Headers = append(out.Headers, h)
	}
	for _, q := range m.QueryParams {
		out.QueryParameters = append(out.QueryParameters, queryMatcher(q))
	}
	return out, nil
}

// headerMatcher maps one header match. No value matcher means "present",
// the App Mesh meaning of a header entry without match.
func headerMatcher(h *ir.HeaderMatch) (*routev3.HeaderMatcher, error) {
	out := &routev3.HeaderMatcher{Name: h.Name, InvertMatch: h.Invert}
	var sm *matcherv3.StringMatcher
	set := 0
	if h.Exact != nil {
		sm = &matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_Exact{Exact: *h.Exact}}
		set++
	}
	if h.Prefix != nil {
		sm = &matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_Prefix{Prefix: *h.Prefix}}
		set++
	}
	if h.Suffix != nil {
		sm = &matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_Suffix{Suffix: *h.Suffix}}
		set++
	}
	if h.Regex != nil {
		sm = &matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_SafeRegex{SafeRegex: regexMatcher(*h.Regex)}}
		set++
	}
	switch {
	case set > 1 || (set == 1 && h.Range != nil):
		return nil, errors.New("more than one value matcher")
	case sm != nil:
		out.HeaderMatchSpecifier = &routev3.HeaderMatcher_StringMatch{StringMatch: sm}
	case h.Range != nil:
		out.HeaderMatchSpecifier = &routev3.HeaderMatcher_RangeMatch{RangeMatch: &typev3.Int64Range{
			Start: h.Range.Start, End: h.Range.End,
		}}
	default:
		out.HeaderMatchSpecifier = &routev3.HeaderMatcher_PresentMatch{PresentMatch: true}
	}
	return out, nil
}

// queryMatcher matches a query parameter exactly, or its presence.
func queryMatcher(q ir.QueryParamMatch) *routev3.QueryParameterMatcher {
	out := &routev3.QueryParameterMatcher{Name: q.Name}
	if q.Exact != nil {
		out.QueryParameterMatchSpecifier = &routev3.QueryParameterMatcher_StringMatch{
			StringMatch: &matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_Exact{Exact: *q.Exact}},
		}
	} else {
		out.QueryParameterMatchSpecifier = &routev3.QueryParameterMatcher_PresentMatch{PresentMatch: true}
	}
	return out
}
