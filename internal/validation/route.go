package validation

import (
	"fmt"

	"github.com/trellis-mesh/trellis/internal/apis/appmesh"
)

// routeSpec checks a RouteSpec: exactly one of the four route types (a
// documented rule, not a modeled union) and the priority.
func (c *collector) routeSpec(p path, s *appmesh.RouteSpec) {
	c.oneOf(p, false,
		member{"grpcRoute", s.GrpcRoute != nil}, member{"http2Route", s.Http2Route != nil},
		member{"httpRoute", s.HttpRoute != nil}, member{"tcpRoute", s.TcpRoute != nil})
	c.grpcRoute(p.field("grpcRoute"), s.GrpcRoute)
	c.httpRoute(p.field("http2Route"), s.Http2Route)
	c.httpRoute(p.field("httpRoute"), s.HttpRoute)
	c.priority(p.field("priority"), s.Priority)
	c.tcpRoute(p.field("tcpRoute"), s.TcpRoute)
}

// httpRoute checks an http or http2 route.
func (c *collector) httpRoute(p path, r *appmesh.HttpRoute) {
	if r == nil {
		return
	}
	if r.Action == nil {
		c.add(p.field("action"), "is required")
	} else {
		c.weightedTargets(p.field("action").field("weightedTargets"), r.Action.WeightedTargets)
	}
	c.httpRouteMatch(p.field("match"), r.Match)
	if rp := r.RetryPolicy; rp != nil {
		pp := p.field("retryPolicy")
		if len(rp.HttpRetryEvents)+len(rp.TcpRetryEvents) == 0 {
			c.add(pp, "must have at least one of httpRetryEvents|tcpRetryEvents")
		}
		c.retryPolicy(pp, rp.HttpRetryEvents, rp.MaxRetries, rp.PerRetryTimeout, rp.TcpRetryEvents)
	}
	c.httpTimeout(p.field("timeout"), r.Timeout)
}

// httpRouteMatch checks the required match of an http/http2 route. It may
// set at most one of prefix or path; neither matches every request (on
// match.port when set), which is how App Mesh's multiple-listeners
// walkthrough routes a router listener: `"match": {"port": 3030}`.
func (c *collector) httpRouteMatch(p path, m *appmesh.HttpRouteMatch) {
	if m == nil {
		c.add(p, "is required")
		return
	}
	c.oneOf(p, true, member{"path", m.Path != nil}, member{"prefix", m.Prefix != nil})
	headerList(c, p.field("headers"), m.Headers)
	c.enum(p.field("method"), m.Method, false, appmesh.HTTPMethods)
	c.pathMatch(p.field("path"), m.Path)
	c.optionalPort(p.field("port"), m.Port)
	c.pathPrefix(p.field("prefix"), m.Prefix)
	c.queryParameters(p.field("queryParameters"), m.QueryParameters)
	c.enum(p.field("scheme"), m.Scheme, false, httpSchemes)
}

// grpcRoute checks a gRPC route.
func (c *collector) grpcRoute(p path, r *appmesh.GrpcRoute) {
	if r == nil {
		return
	}
	if r.Action == nil {
		c.add(p.field("action"), "is required")
	} else {
		c.weightedTargets(p.field("action").field("weightedTargets"), r.Action.WeightedTargets)
	}
	c.grpcRouteMatch(p.field("match"), r.Match)
	if rp := r.RetryPolicy; rp != nil {
		pp := p.field("retryPolicy")
		if len(rp.GrpcRetryEvents)+len(rp.HttpRetryEvents)+len(rp.TcpRetryEvents) == 0 {
			c.add(pp, "must have at least one of grpcRetryEvents|httpRetryEvents|tcpRetryEvents")
		}
		ep := pp.field("grpcRetryEvents")
		c.items(ep, len(rp.GrpcRetryEvents), rp.GrpcRetryEvents != nil, 1, 5)
		for i, e := range rp.GrpcRetryEvents {
			c.enum(ep.index(i), e, true, appmesh.GrpcRetryEvents)
		}
		c.retryPolicy(pp, rp.HttpRetryEvents, rp.MaxRetries, rp.PerRetryTimeout, rp.TcpRetryEvents)
	}
	c.httpTimeout(p.field("timeout"), (*appmesh.HttpTimeout)(r.Timeout))
}

// grpcRouteMatch checks the required match of a gRPC route. A method name
// needs a service name (model doc).
func (c *collector) grpcRouteMatch(p path, m *appmesh.GrpcRouteMatch) {
	if m == nil {
		c.add(p, "is required")
		return
	}
	headerList(c, p.field("metadata"), m.Metadata)
	if m.MethodName != nil {
		c.length(p.field("methodName"), *m.MethodName, 1, 50)
		if m.ServiceName == nil || *m.ServiceName == "" {
			c.add(p.field("methodName"), "requires serviceName")
		}
	}
	c.optionalPort(p.field("port"), m.Port)
}

// tcpRoute checks a TCP route.
func (c *collector) tcpRoute(p path, r *appmesh.TcpRoute) {
	if r == nil {
		return
	}
	if r.Action == nil {
		c.add(p.field("action"), "is required")
	} else {
		c.weightedTargets(p.field("action").field("weightedTargets"), r.Action.WeightedTargets)
	}
	if r.Match != nil {
		c.optionalPort(p.field("match").field("port"), r.Match.Port)
	}
	c.tcpTimeout(p.field("timeout"), r.Timeout)
}

// retryPolicy checks the members shared by http and gRPC retry policies.
// httpRetryEvents are free strings in the model (not an enum).
func (c *collector) retryPolicy(p path, httpEvents []string, maxRetries *int64, perRetry *appmesh.Duration, tcpEvents []string) {
	hp := p.field("httpRetryEvents")
	c.items(hp, len(httpEvents), httpEvents != nil, 1, 25)
	for i, e := range httpEvents {
		c.requiredString(hp.index(i), e, 1, 25)
	}
	if maxRetries == nil {
		c.add(p.field("maxRetries"), "is required")
	} else {
		c.atLeast(p.field("maxRetries"), *maxRetries, 0)
	}
	c.duration(p.field("perRetryTimeout"), perRetry, true)
	tp := p.field("tcpRetryEvents")
	c.items(tp, len(tcpEvents), tcpEvents != nil, 1, 1)
	for i, e := range tcpEvents {
		c.enum(tp.index(i), e, true, appmesh.TcpRetryEvents)
	}
}

// weightedTargets checks a route action's targets: 1..10 targets, weights
// 0..100 summing to at most 100 (model doc), and no target listed twice.
func (c *collector) weightedTargets(p path, ts []appmesh.WeightedTarget) {
	if ts == nil {
		c.add(p, "is required")
		return
	}
	c.items(p, len(ts), true, 1, 10)
	type key struct {
		node string
		port int32
	}
	first := make(map[key]int, len(ts))
	var sum int64
	for i, t := range ts {
		tp := p.index(i)
		c.optionalPort(tp.field("port"), t.Port)
		c.requiredString(tp.field("virtualNode"), t.VirtualNode, 1, 255)
		c.between(tp.field("weight"), int64(t.Weight), 0, 100)
		sum += int64(t.Weight)
		k := key{node: t.VirtualNode}
		if t.Port != nil {
			k.port = *t.Port
		}
		if j, dup := first[k]; dup {
			c.addf(tp, "duplicate target %s (also target %d)", describeTarget(t), j)
			continue
		}
		first[k] = i
	}
	if sum > 100 {
		c.addf(p, "sum of weights must be <= 100, got %d", sum)
	}
}

// describeTarget names a weighted target in a duplicate message.
func describeTarget(t appmesh.WeightedTarget) string {
	if t.Port == nil {
		return fmt.Sprintf("%q", t.VirtualNode)
	}
	return fmt.Sprintf("%q port %d", t.VirtualNode, *t.Port)
}
