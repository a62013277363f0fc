package validation

import (
	"strings"

	"github.com/trellis-mesh/trellis/internal/apis/appmesh"
)

// Enum values of the model (case-sensitive).
var (
	portProtocols    = []string{appmesh.ProtocolHTTP, appmesh.ProtocolHTTP2, appmesh.ProtocolGRPC, appmesh.ProtocolTCP}
	gatewayProtocols = []string{appmesh.ProtocolHTTP, appmesh.ProtocolHTTP2, appmesh.ProtocolGRPC}
	durationUnits    = []string{appmesh.DurationUnitSeconds, appmesh.DurationUnitMilliseconds}
	httpSchemes      = []string{"http", "https"}
)

// duration checks a Duration. The model makes both members optional, but a
// value without a unit (or a unit without a value) cannot be turned into a
// timeout, so each requires the other. An empty object of an optional
// duration is accepted as "not set"; a required duration needs both members.
func (c *collector) duration(p path, d *appmesh.Duration, required bool) {
	if d == nil {
		if required {
			c.add(p, "is required")
		}
		return
	}
	hasUnit, hasValue := d.Unit != "", d.Value != nil
	if !hasUnit && (hasValue || required) {
		c.add(p.field("unit"), "is required")
	}
	c.enum(p.field("unit"), d.Unit, false, durationUnits)
	if !hasValue && (hasUnit || required) {
		c.add(p.field("value"), "is required")
	}
	if hasValue {
		c.atLeast(p.field("value"), *d.Value, 0)
	}
}

// httpTimeout checks an HttpTimeout (GrpcTimeout has the same shape).
func (c *collector) httpTimeout(p path, t *appmesh.HttpTimeout) {
	if t == nil {
		return
	}
	c.duration(p.field("idle"), t.Idle, false)
	c.duration(p.field("perRequest"), t.PerRequest, false)
}

// tcpTimeout checks a TcpTimeout.
func (c *collector) tcpTimeout(p path, t *appmesh.TcpTimeout) {
	if t == nil {
		return
	}
	c.duration(p.field("idle"), t.Idle, false)
}

// portMapping checks a required port mapping and returns its port and
// protocol when both are valid (0 and "" otherwise), for the rules that tie
// other listener members to them.
func (c *collector) portMapping(p path, pm *appmesh.PortMapping, protocols []string) (int32, string) {
	if pm == nil {
		c.add(p, "is required")
		return 0, ""
	}
	n := len(c.violations)
	c.port(p.field("port"), pm.Port)
	port := pm.Port
	if len(c.violations) > n {
		port = 0
	}
	n = len(c.violations)
	c.enum(p.field("protocol"), pm.Protocol, true, protocols)
	protocol := pm.Protocol
	if len(c.violations) > n {
		protocol = ""
	}
	return port, protocol
}

// priority checks a route or gateway route priority.
func (c *collector) priority(p path, v *int32) {
	if v != nil {
		c.between(p, int64(*v), 0, 1000)
	}
}

// headerLike are the four header/metadata match shapes; they share one
// layout (invert, match, name), so they convert to HttpRouteHeader.
type headerLike interface {
	appmesh.HttpRouteHeader | appmesh.HttpGatewayRouteHeader | appmesh.GrpcRouteMetadata | appmesh.GrpcGatewayRouteMetadata
}

// headerList checks a list of header or metadata matches (items 1..10).
func headerList[T headerLike](c *collector, p path, hs []T) {
	c.items(p, len(hs), hs != nil, 1, 10)
	for i, h := range hs {
		hh := appmesh.HttpRouteHeader(h)
		hp := p.index(i)
		c.headerMatch(hp.field("match"), hh.Match)
		c.requiredString(hp.field("name"), hh.Name, 1, 50)
	}
}

// headerMatch checks an optional HeaderMatchMethod union.
func (c *collector) headerMatch(p path, m *appmesh.HeaderMatchMethod) {
	if m == nil {
		return
	}
	c.union(p,
		member{"exact", m.Exact != nil}, member{"prefix", m.Prefix != nil},
		member{"range", m.Range != nil}, member{"regex", m.Regex != nil},
		member{"suffix", m.Suffix != nil})
	c.optionalString(p.field("exact"), m.Exact, 1, 255)
	c.optionalString(p.field("prefix"), m.Prefix, 1, 255)
	if r := m.Range; r != nil && r.End <= r.Start {
		// start is inclusive and end exclusive, so end <= start matches
		// nothing; the k8s controller rejects it too.
		c.add(p.field("range").field("end"), "must be greater than start")
	}
	c.regex(p.field("regex"), m.Regex)
	c.optionalString(p.field("suffix"), m.Suffix, 1, 255)
}

// pathMatch checks an optional HttpPathMatch: exactly one of exact|regex.
func (c *collector) pathMatch(p path, m *appmesh.HttpPathMatch) {
	if m == nil {
		return
	}
	c.oneOf(p, false, member{"exact", m.Exact != nil}, member{"regex", m.Regex != nil})
	c.optionalString(p.field("exact"), m.Exact, 1, 255)
	c.regex(p.field("regex"), m.Regex)
}

// queryParameters checks a query parameter match list (items 1..10).
func (c *collector) queryParameters(p path, qs []appmesh.HttpQueryParameter) {
	c.items(p, len(qs), qs != nil, 1, 10)
	for i, q := range qs {
		// The model puts no limit on the name, but an empty name matches no
		// parameter, so it counts as missing.
		c.requiredString(p.index(i).field("name"), q.Name, 1, 0)
	}
}

// pathPrefix checks an optional match prefix, which must start with "/".
func (c *collector) pathPrefix(p path, s *string) {
	if s != nil && !strings.HasPrefix(*s, "/") {
		c.add(p, `must start with "/"`)
	}
}
