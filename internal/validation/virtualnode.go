package validation

import (
	"regexp"

	"github.com/trellis-mesh/trellis/internal/apis/appmesh"
)

// Cloud Map instance attribute patterns of the model. The value class holds
// a space and a TAB (the botocore copy of the model shows two spaces).
var (
	attributeKeyPattern   = regexp.MustCompile(`^[a-zA-Z0-9!-~]+$`)
	attributeValuePattern = regexp.MustCompile(`^([a-zA-Z0-9!-~][ \ta-zA-Z0-9!-~]*){0,1}[a-zA-Z0-9!-~]{0,1}$`)
	dnsResponseTypes      = []string{appmesh.DNSResponseLoadBalancer, appmesh.DNSResponseEndpoints}
)

// virtualNodeSpec checks a VirtualNodeSpec.
func (c *collector) virtualNodeSpec(p path, s *appmesh.VirtualNodeSpec) {
	if s.BackendDefaults != nil {
		c.clientPolicy(p.field("backendDefaults").field("clientPolicy"), s.BackendDefaults.ClientPolicy)
	}
	c.backends(p.field("backends"), s.Backends)
	lp := p.field("listeners")
	ports := make([]int32, len(s.Listeners))
	for i := range s.Listeners {
		ports[i] = c.nodeListener(lp.index(i), &s.Listeners[i])
	}
	c.uniquePorts(lp, ports)
	c.logging(p.field("logging"), s.Logging)
	sp := p.field("serviceDiscovery")
	if s.ServiceDiscovery == nil && len(s.Listeners) > 0 {
		c.add(sp, "is required when listeners are set")
	}
	c.serviceDiscovery(sp, s.ServiceDiscovery)
}

// backends checks the backend unions and rejects a virtual service listed
// twice (App Mesh rejects duplicate backends, roadmap #170).
func (c *collector) backends(p path, bs []appmesh.Backend) {
	first := make(map[string]int, len(bs))
	for i, b := range bs {
		bp := p.index(i)
		c.union(bp, member{"virtualService", b.VirtualService != nil})
		vs := b.VirtualService
		if vs == nil {
			continue
		}
		vp := bp.field("virtualService")
		c.clientPolicy(vp.field("clientPolicy"), vs.ClientPolicy)
		np := vp.field("virtualServiceName")
		c.requiredString(np, vs.VirtualServiceName, 1, 0)
		if vs.VirtualServiceName == "" {
			continue
		}
		if j, dup := first[vs.VirtualServiceName]; dup {
			c.addf(np, "duplicate backend %q (also backend %d)", vs.VirtualServiceName, j)
			continue
		}
		first[vs.VirtualServiceName] = i
	}
}

// nodeListener checks one listener and returns its port (0 if invalid).
func (c *collector) nodeListener(p path, l *appmesh.Listener) int32 {
	port, protocol := c.portMapping(p.field("portMapping"), l.PortMapping, portProtocols)
	if cp := l.ConnectionPool; cp != nil {
		c.nodeConnectionPool(p.field("connectionPool"), cp, protocol)
	}
	c.healthCheck(p.field("healthCheck"), l.HealthCheck, portProtocols, port)
	c.outlierDetection(p.field("outlierDetection"), l.OutlierDetection)
	if t := l.Timeout; t != nil {
		tp := p.field("timeout")
		c.protocolMember(tp, "timeout", protocol,
			member{"grpc", t.Grpc != nil}, member{"http", t.Http != nil},
			member{"http2", t.Http2 != nil}, member{"tcp", t.Tcp != nil})
		c.httpTimeout(tp.field("grpc"), (*appmesh.HttpTimeout)(t.Grpc))
		c.httpTimeout(tp.field("http"), t.Http)
		c.httpTimeout(tp.field("http2"), t.Http2)
		c.tcpTimeout(tp.field("tcp"), t.Tcp)
	}
	c.listenerTLS(p.field("tls"), l.Tls)
	return port
}

// protocolMember checks a union keyed by listener protocol: exactly one
// member, and it must be the listener's protocol (when that is valid).
func (c *collector) protocolMember(p path, what, protocol string, ms ...member) {
	if !c.union(p, ms...) || protocol == "" {
		return
	}
	set, _ := setNames(ms)
	if set[0] != protocol {
		c.addf(p, "%s member %q does not match listener protocol %q", what, set[0], protocol)
	}
}

// nodeConnectionPool checks a virtual node connection pool.
func (c *collector) nodeConnectionPool(p path, cp *appmesh.VirtualNodeConnectionPool, protocol string) {
	c.protocolMember(p, "connection pool", protocol,
		member{"grpc", cp.Grpc != nil}, member{"http", cp.Http != nil},
		member{"http2", cp.Http2 != nil}, member{"tcp", cp.Tcp != nil})
	if cp.Grpc != nil {
		c.atLeast(p.field("grpc").field("maxRequests"), int64(cp.Grpc.MaxRequests), 1)
	}
	c.httpConnectionPool(p.field("http"), cp.Http)
	if cp.Http2 != nil {
		c.atLeast(p.field("http2").field("maxRequests"), int64(cp.Http2.MaxRequests), 1)
	}
	if cp.Tcp != nil {
		c.atLeast(p.field("tcp").field("maxConnections"), int64(cp.Tcp.MaxConnections), 1)
	}
}

// httpConnectionPool checks an http connection pool (node and gateway).
func (c *collector) httpConnectionPool(p path, h *appmesh.VirtualNodeHttpConnectionPool) {
	if h == nil {
		return
	}
	c.atLeast(p.field("maxConnections"), int64(h.MaxConnections), 1)
	if h.MaxPendingRequests != nil {
		c.atLeast(p.field("maxPendingRequests"), int64(*h.MaxPendingRequests), 1)
	}
}

// healthCheck checks an optional health check (node and gateway shapes are
// the same; gateways allow fewer protocols). Its port, if set, must be the
// listener port.
func (c *collector) healthCheck(p path, h *appmesh.HealthCheckPolicy, protocols []string, listenerPort int32) {
	if h == nil {
		return
	}
	c.between(p.field("healthyThreshold"), int64(h.HealthyThreshold), 2, 10)
	c.between(p.field("intervalMillis"), h.IntervalMillis, 5000, 300000)
	if h.Port != nil {
		c.port(p.field("port"), *h.Port)
		if listenerPort != 0 && *h.Port != listenerPort && *h.Port >= 1 && *h.Port <= 65535 {
			c.addf(p.field("port"), "must equal the listener port %d", listenerPort)
		}
	}
	c.enum(p.field("protocol"), h.Protocol, true, protocols)
	c.between(p.field("timeoutMillis"), h.TimeoutMillis, 2000, 60000)
	c.between(p.field("unhealthyThreshold"), int64(h.UnhealthyThreshold), 2, 10)
}

// outlierDetection checks optional outlier detection; all members are
// required.
func (c *collector) outlierDetection(p path, o *appmesh.OutlierDetection) {
	if o == nil {
		return
	}
	c.duration(p.field("baseEjectionDuration"), o.BaseEjectionDuration, true)
	c.duration(p.field("interval"), o.Interval, true)
	if o.MaxEjectionPercent == nil {
		c.add(p.field("maxEjectionPercent"), "is required")
	} else {
		c.between(p.field("maxEjectionPercent"), int64(*o.MaxEjectionPercent), 0, 100)
	}
	if o.MaxServerErrors == nil {
		c.add(p.field("maxServerErrors"), "is required")
	} else {
		c.atLeast(p.field("maxServerErrors"), *o.MaxServerErrors, 1)
	}
}

// serviceDiscovery checks the optional awsCloudMap|dns union.
func (c *collector) serviceDiscovery(p path, sd *appmesh.ServiceDiscovery) {
	if sd == nil {
		return
	}
	c.union(p, member{"awsCloudMap", sd.AwsCloudMap != nil}, member{"dns", sd.Dns != nil})
	if cm := sd.AwsCloudMap; cm != nil {
		c.cloudMap(p.field("awsCloudMap"), cm)
	}
	if d := sd.Dns; d != nil {
		dp := p.field("dns")
		// The model puts no limit on the hostname; empty counts as missing.
		c.requiredString(dp.field("hostname"), d.Hostname, 1, 0)
		c.enum(dp.field("ipPreference"), d.IpPreference, false, appmesh.IPPreferences)
		c.enum(dp.field("responseType"), d.ResponseType, false, dnsResponseTypes)
	}
}

// cloudMap checks Cloud Map service discovery.
func (c *collector) cloudMap(p path, cm *appmesh.AwsCloudMapServiceDiscovery) {
	for i, a := range cm.Attributes {
		ap := p.field("attributes").index(i)
		c.attribute(ap.field("key"), a.Key, 255, attributeKeyPattern)
		c.attribute(ap.field("value"), a.Value, 1024, attributeValuePattern)
	}
	c.enum(p.field("ipPreference"), cm.IpPreference, false, appmesh.IPPreferences)
	c.requiredString(p.field("namespaceName"), cm.NamespaceName, 1, 1024)
	c.requiredString(p.field("serviceName"), cm.ServiceName, 1, 1024)
}

// attribute checks a required Cloud Map attribute key or value: length
// first, then (if the length is fine) the pattern.
func (c *collector) attribute(p path, s string, maxLen int, re *regexp.Regexp) {
	n := len(c.violations)
	c.requiredString(p, s, 1, maxLen)
	if len(c.violations) == n {
		c.pattern(p, s, re)
	}
}
