package validation

import "github.com/trellis-mesh/trellis/internal/apis/appmesh"

// virtualGatewaySpec checks a VirtualGatewaySpec. The model marks listeners
// required but sets no minimum; a gateway without a listener can take no
// traffic, so at least one is required.
func (c *collector) virtualGatewaySpec(p path, s *appmesh.VirtualGatewaySpec) {
	if d := s.BackendDefaults; d != nil && d.ClientPolicy != nil {
		tp := p.field("backendDefaults").field("clientPolicy").field("tls")
		c.clientPolicyTLS(tp, (*appmesh.ClientPolicyTls)(d.ClientPolicy.Tls))
	}
	lp := p.field("listeners")
	if s.Listeners == nil {
		c.add(lp, "is required")
	} else {
		c.items(lp, len(s.Listeners), true, 1, 0)
	}
	ports := make([]int32, len(s.Listeners))
	for i := range s.Listeners {
		ports[i] = c.gatewayListener(lp.index(i), &s.Listeners[i])
	}
	c.uniquePorts(lp, ports)
	c.logging(p.field("logging"), (*appmesh.Logging)(s.Logging))
}

// gatewayListener checks one gateway listener and returns its port (0 if
// invalid).
func (c *collector) gatewayListener(p path, l *appmesh.VirtualGatewayListener) int32 {
	port, protocol := c.portMapping(p.field("portMapping"), (*appmesh.PortMapping)(l.PortMapping), gatewayProtocols)
	if cp := l.ConnectionPool; cp != nil {
		pp := p.field("connectionPool")
		c.protocolMember(pp, "connection pool", protocol,
			member{"grpc", cp.Grpc != nil}, member{"http", cp.Http != nil}, member{"http2", cp.Http2 != nil})
		if cp.Grpc != nil {
			c.atLeast(pp.field("grpc").field("maxRequests"), int64(cp.Grpc.MaxRequests), 1)
		}
		c.httpConnectionPool(pp.field("http"), (*appmesh.VirtualNodeHttpConnectionPool)(cp.Http))
		if cp.Http2 != nil {
			c.atLeast(pp.field("http2").field("maxRequests"), int64(cp.Http2.MaxRequests), 1)
		}
	}
	c.healthCheck(p.field("healthCheck"), (*appmesh.HealthCheckPolicy)(l.HealthCheck), gatewayProtocols, port)
	if t := l.Tls; t != nil {
		tp := p.field("tls")
		c.listenerCertificate(tp.field("certificate"), (*appmesh.ListenerTlsCertificate)(t.Certificate))
		c.enum(tp.field("mode"), t.Mode, true, tlsModes)
		c.listenerValidation(tp.field("validation"), (*appmesh.ListenerTlsValidationContext)(t.Validation))
	}
	return port
}
