package validation

import (
	"strings"

	"github.com/trellis-mesh/trellis/internal/apis/appmesh"
)

// rewriteSwitches are the DefaultGatewayRouteRewrite values.
var rewriteSwitches = []string{appmesh.RewriteEnabled, appmesh.RewriteDisabled}

// Reserved for App Mesh internal use (user guide, gateway routes).
var reservedPrefixes = []string{"/aws-appmesh", "/aws-app-mesh"}

const (
	reservedServicePrefix = "aws.app-mesh"
	reservedServiceName   = "aws.appmesh"
)

// gatewayRouteSpec checks a GatewayRouteSpec: exactly one of the three route
// types (documented, not a modeled union) and the priority. Beyond the model
// no match member is required: a gateway route may match on hostname,
// headers or nothing at all.
func (c *collector) gatewayRouteSpec(p path, s *appmesh.GatewayRouteSpec) {
	c.oneOf(p, false,
		member{"grpcRoute", s.GrpcRoute != nil}, member{"http2Route", s.Http2Route != nil},
		member{"httpRoute", s.HttpRoute != nil})
	c.grpcGatewayRoute(p.field("grpcRoute"), s.GrpcRoute)
	c.httpGatewayRoute(p.field("http2Route"), s.Http2Route)
	c.httpGatewayRoute(p.field("httpRoute"), s.HttpRoute)
	c.priority(p.field("priority"), s.Priority)
}

// httpGatewayRoute checks an http or http2 gateway route.
func (c *collector) httpGatewayRoute(p path, r *appmesh.HttpGatewayRoute) {
	if r == nil {
		return
	}
	if r.Action == nil {
		c.add(p.field("action"), "is required")
	} else {
		ap := p.field("action")
		c.httpGatewayRewrite(ap.field("rewrite"), r.Action.Rewrite, r.Match)
		c.gatewayTarget(ap.field("target"), r.Action.Target)
	}
	m := r.Match
	mp := p.field("match")
	if m == nil {
		c.add(mp, "is required")
		return
	}
	c.oneOf(mp, true, member{"path", m.Path != nil}, member{"prefix", m.Prefix != nil})
	headerList(c, mp.field("headers"), m.Headers)
	c.hostnameMatch(mp.field("hostname"), m.Hostname)
	c.enum(mp.field("method"), m.Method, false, appmesh.HTTPMethods)
	c.pathMatch(mp.field("path"), m.Path)
	c.optionalPort(mp.field("port"), m.Port)
	c.gatewayPrefix(mp.field("prefix"), m.Prefix)
	c.queryParameters(mp.field("queryParameters"), m.QueryParameters)
}

// gatewayPrefix checks a gateway match prefix: it starts with "/" and is not
// in the reserved /aws-appmesh* or /aws-app-mesh* space.
func (c *collector) gatewayPrefix(p path, s *string) {
	if s == nil {
		return
	}
	c.pathPrefix(p, s)
	for _, r := range reservedPrefixes {
		if strings.HasPrefix(*s, r) {
			c.addf(p, "must not start with %q (reserved)", r)
			return
		}
	}
}

// httpGatewayRewrite checks an optional http rewrite against the match: a
// prefix rewrite needs a prefix match and a path rewrite needs a path match
// (exact or regex, user guide). A prefix rewrite sets at most one of
// defaultPrefix|value; an empty one keeps the defaults, as does an empty
// path rewrite. The value must start and end with "/" (App Mesh k8s
// controller webhook and CDK enforce this service rule).
func (c *collector) httpGatewayRewrite(p path, rw *appmesh.HttpGatewayRouteRewrite, m *appmesh.HttpGatewayRouteMatch) {
	if rw == nil {
		return
	}
	c.hostnameRewrite(p.field("hostname"), rw.Hostname)
	if pr := rw.Path; pr != nil {
		pp := p.field("path")
		if m == nil || m.Path == nil {
			c.add(pp, "requires match.path")
		}
		c.optionalString(pp.field("exact"), pr.Exact, 1, 255)
	}
	if pr := rw.Prefix; pr != nil {
		pp := p.field("prefix")
		if m == nil || m.Prefix == nil {
			c.add(pp, "requires match.prefix")
		}
		c.oneOf(pp, true, member{"defaultPrefix", pr.DefaultPrefix != ""}, member{"value", pr.Value != nil})
		c.enum(pp.field("defaultPrefix"), pr.DefaultPrefix, false, rewriteSwitches)
		if v := pr.Value; v != nil {
			n := len(c.violations)
			c.length(pp.field("value"), *v, 1, 255)
			if len(c.violations) == n && (!strings.HasPrefix(*v, "/") || !strings.HasSuffix(*v, "/")) {
				c.add(pp.field("value"), `must start and end with "/"`)
			}
		}
	}
}

// hostnameRewrite checks an optional hostname rewrite.
func (c *collector) hostnameRewrite(p path, h *appmesh.GatewayRouteHostnameRewrite) {
	if h != nil {
		c.enum(p.field("defaultTargetHostname"), h.DefaultTargetHostname, false, rewriteSwitches)
	}
}

// hostnameMatch checks an optional hostname match: exactly one of
// exact|suffix, 1..253 characters.
func (c *collector) hostnameMatch(p path, h *appmesh.GatewayRouteHostnameMatch) {
	if h == nil {
		return
	}
	c.oneOf(p, false, member{"exact", h.Exact != nil}, member{"suffix", h.Suffix != nil})
	c.optionalString(p.field("exact"), h.Exact, 1, 253)
	c.optionalString(p.field("suffix"), h.Suffix, 1, 253)
}

// gatewayTarget checks the required target of a gateway route. Unlike
// virtual service names elsewhere, the model limits this one to 1..255.
func (c *collector) gatewayTarget(p path, t *appmesh.GatewayRouteTarget) {
	if t == nil {
		c.add(p, "is required")
		return
	}
	c.optionalPort(p.field("port"), t.Port)
	vp := p.field("virtualService")
	if t.VirtualService == nil {
		c.add(vp, "is required")
		return
	}
	c.requiredString(vp.field("virtualServiceName"), t.VirtualService.VirtualServiceName, 1, 255)
}

// grpcGatewayRoute checks a gRPC gateway route.
func (c *collector) grpcGatewayRoute(p path, r *appmesh.GrpcGatewayRoute) {
	if r == nil {
		return
	}
	if r.Action == nil {
		c.add(p.field("action"), "is required")
	} else {
		ap := p.field("action")
		if rw := r.Action.Rewrite; rw != nil {
			c.hostnameRewrite(ap.field("rewrite").field("hostname"), rw.Hostname)
		}
		c.gatewayTarget(ap.field("target"), r.Action.Target)
	}
	m := r.Match
	mp := p.field("match")
	if m == nil {
		c.add(mp, "is required")
		return
	}
	c.hostnameMatch(mp.field("hostname"), m.Hostname)
	headerList(c, mp.field("metadata"), m.Metadata)
	c.optionalPort(mp.field("port"), m.Port)
	if s := m.ServiceName; s != nil && (strings.HasPrefix(*s, reservedServicePrefix) || *s == reservedServiceName) {
		c.addf(mp.field("serviceName"), "must not be %q or start with %q (reserved)", reservedServiceName, reservedServicePrefix)
	}
}
