package irgen

import (
	"github.com/trellis-mesh/trellis/internal/apis/appmesh"
	"github.com/trellis-mesh/trellis/internal/ir"
)

// httpMatch translates an http/http2 route match (§3.4): prefix, exact
// path or path regex (RE2); headers in spec order, then method as an exact
// `:method` match and scheme as an exact `:scheme` match; query parameters
// matched exactly or by presence. Validation guarantees exactly one of
// prefix and path; a missing match matches everything.
func httpMatch(m *appmesh.HttpRouteMatch) ir.RouteMatch {
	if m == nil {
		return ir.RouteMatch{Prefix: "/"}
	}
	var rm ir.RouteMatch
	switch {
	case m.Path != nil && m.Path.Exact != nil:
		rm.Path = *m.Path.Exact
	case m.Path != nil && m.Path.Regex != nil:
		rm.Regex = *m.Path.Regex
	case m.Prefix != nil:
		rm.Prefix = *m.Prefix
	default:
		rm.Prefix = "/"
	}
	for _, h := range m.Headers {
		rm.Headers = append(rm.Headers, headerMatch(h.Name, h.Match, h.Invert))
	}
	if m.Method != "" {
		rm.Headers = append(rm.Headers, ir.HeaderMatch{Name: ":method", Exact: ptr(m.Method)})
	}
	if m.Scheme != "" {
		rm.Headers = append(rm.Headers, ir.HeaderMatch{Name: ":scheme", Exact: ptr(m.Scheme)})
	}
	rm.QueryParams = append(rm.QueryParams, queryMatches(m.QueryParameters)...)
	return rm
}

// grpcMatch translates a gRPC route match (§3.4): service and method
// become the exact path /<service>/<method>, a service alone the prefix
// /<service>/, neither the prefix "/"; metadata entries are headers. The
// match is restricted to gRPC requests either way.
func grpcMatch(m *appmesh.GrpcRouteMatch) ir.RouteMatch {
	rm := ir.RouteMatch{Prefix: "/", GRPC: true}
	if m == nil {
		return rm
	}
	if m.ServiceName != nil && *m.ServiceName != "" {
		rm.Prefix = "/" + *m.ServiceName + "/"
		if m.MethodName != nil && *m.MethodName != "" {
			rm.Prefix, rm.Path = "", "/"+*m.ServiceName+"/"+*m.MethodName
		}
	}
	for _, md := range m.Metadata {
		rm.Headers = append(rm.Headers, headerMatch(md.Name, md.Match, md.Invert))
	}
	return rm
}

// headerMatch translates one header (or gRPC metadata) match. No match
// method means "the header is present" (§3.4); invert negates either.
func headerMatch(name string, mm *appmesh.HeaderMatchMethod, invert *bool) ir.HeaderMatch {
	hm := ir.HeaderMatch{Name: name, Invert: invert != nil && *invert}
	if mm == nil {
		return hm
	}
	switch {
	case mm.Exact != nil:
		hm.Exact = ptr(*mm.Exact)
	case mm.Prefix != nil:
		hm.Prefix = ptr(*mm.Prefix)
	case mm.Suffix != nil:
		hm.Suffix = ptr(*mm.Suffix)
	case mm.Regex != nil:
		hm.Regex = ptr(*mm.Regex)
	case mm.Range != nil:
		hm.Range = &ir.Range{Start: mm.Range.Start, End: mm.Range.End}
	}
	return hm
}

func ptr[T any](v T) *T { return &v }

// queryMatches maps query parameter matches: exact, or presence when the
// match is absent.
func queryMatches(qs []appmesh.HttpQueryParameter) []ir.QueryParamMatch {
	var out []ir.QueryParamMatch
	for _, q := range qs {
		qm := ir.QueryParamMatch{Name: q.Name}
		if q.Match != nil && q.Match.Exact != nil {
			qm.Exact = ptr(*q.Match.Exact)
		}
		out = append(out, qm)
	}
	return out
}
