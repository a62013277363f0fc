package validation

import (
	"strings"
	"testing"

	"github.com/trellis-mesh/trellis/internal/apis/appmesh"
)

func TestMeshRules(t *testing.T) {
	runRules(t, appmesh.KindMesh, fullMesh, []ruleCase[appmesh.MeshSpec]{
		{name: "egress type required", mutate: func(s *appmesh.MeshSpec) { s.EgressFilter.Type = "" },
			field: "spec.egressFilter.type", rule: "is required"},
		{name: "egress type enum", mutate: func(s *appmesh.MeshSpec) { s.EgressFilter.Type = "allow_all" },
			field: "spec.egressFilter.type", rule: "must be one of ALLOW_ALL|DROP_ALL"},
		{name: "ip preference enum", mutate: func(s *appmesh.MeshSpec) { s.ServiceDiscovery.IpPreference = "IPV4_ONLY" },
			field: "spec.serviceDiscovery.ipPreference", rule: "must be one of IPv6_PREFERRED|IPv4_PREFERRED|IPv4_ONLY|IPv6_ONLY"},
	})
	runValid(t, []validCase{
		{"empty mesh", appmesh.KindMesh, &appmesh.MeshSpec{}},
		{"empty service discovery", appmesh.KindMesh, &appmesh.MeshSpec{ServiceDiscovery: &appmesh.MeshServiceDiscovery{}}},
		{"drop all", appmesh.KindMesh, &appmesh.MeshSpec{EgressFilter: &appmesh.EgressFilter{Type: "DROP_ALL"}}},
	})
}

func TestVirtualServiceRules(t *testing.T) {
	const pv = "spec.provider"
	runRules(t, appmesh.KindVirtualService, fullVirtualServiceNode, []ruleCase[appmesh.VirtualServiceSpec]{
		{name: "provider empty", mutate: func(s *appmesh.VirtualServiceSpec) { s.Provider = &appmesh.VirtualServiceProvider{} },
			field: pv, rule: "must have exactly one member, got 0 (one of virtualNode|virtualRouter)"},
		{name: "provider two", mutate: func(s *appmesh.VirtualServiceSpec) {
			s.Provider.VirtualRouter = &appmesh.VirtualRouterServiceProvider{VirtualRouterName: "r"}
		}, field: pv, rule: "got 2 (virtualNode, virtualRouter)"},
		{name: "node name required", mutate: func(s *appmesh.VirtualServiceSpec) { s.Provider.VirtualNode.VirtualNodeName = "" },
			field: pv + ".virtualNode.virtualNodeName", rule: "is required"},
		{name: "node name length", mutate: func(s *appmesh.VirtualServiceSpec) { s.Provider.VirtualNode.VirtualNodeName = strings.Repeat("n", 256) },
			field: pv + ".virtualNode.virtualNodeName", rule: "length must be 1..255"},
		{name: "router name required", base: fullVirtualServiceRouter, mutate: func(s *appmesh.VirtualServiceSpec) {
			s.Provider.VirtualRouter.VirtualRouterName = ""
		}, field: pv + ".virtualRouter.virtualRouterName", rule: "is required"},
		{name: "router name length", base: fullVirtualServiceRouter, mutate: func(s *appmesh.VirtualServiceSpec) {
			s.Provider.VirtualRouter.VirtualRouterName = strings.Repeat("r", 256)
		}, field: pv + ".virtualRouter.virtualRouterName", rule: "length must be 1..255"},
	})
	runValid(t, []validCase{{"no provider", appmesh.KindVirtualService, &appmesh.VirtualServiceSpec{}}})
}

func TestVirtualRouterRules(t *testing.T) {
	runRules(t, appmesh.KindVirtualRouter, fullVirtualRouter, []ruleCase[appmesh.VirtualRouterSpec]{
		{name: "port mapping required", mutate: func(s *appmesh.VirtualRouterSpec) { s.Listeners[2].PortMapping = nil },
			field: "spec.listeners[2].portMapping", rule: "is required"},
		{name: "port", mutate: func(s *appmesh.VirtualRouterSpec) { s.Listeners[0].PortMapping.Port = 0 },
			field: "spec.listeners[0].portMapping.port", rule: "must be 1..65535"},
		{name: "protocol", mutate: func(s *appmesh.VirtualRouterSpec) { s.Listeners[0].PortMapping.Protocol = "https" },
			field: "spec.listeners[0].portMapping.protocol", rule: "must be one of http|http2|grpc|tcp"},
		{name: "duplicate port", mutate: func(s *appmesh.VirtualRouterSpec) { s.Listeners[3].PortMapping.Port = 8081 },
			field: "spec.listeners[3].portMapping.port", rule: "duplicate listener port 8081 (also used by listener 1)"},
	})
	runValid(t, []validCase{
		{"no listeners", appmesh.KindVirtualRouter, &appmesh.VirtualRouterSpec{}},
		{"empty listener list", appmesh.KindVirtualRouter, &appmesh.VirtualRouterSpec{Listeners: []appmesh.VirtualRouterListener{}}},
	})
}

func TestVirtualGatewayListenerRules(t *testing.T) {
	type vg = appmesh.VirtualGatewaySpec
	const g0 = "spec.listeners[0]"
	runRules(t, appmesh.KindVirtualGateway, fullVirtualGateway, []ruleCase[vg]{
		{name: "listeners required", mutate: func(s *vg) { s.Listeners = nil }, field: "spec.listeners", rule: "is required"},
		{name: "listeners empty", mutate: func(s *vg) { s.Listeners = []appmesh.VirtualGatewayListener{} },
			field: "spec.listeners", rule: "must have at least 1 item"},
		{name: "port mapping required", mutate: func(s *vg) { s.Listeners[0].PortMapping = nil }, field: g0 + ".portMapping", rule: "is required"},
		{name: "no tcp", mutate: func(s *vg) { s.Listeners[0].PortMapping.Protocol = "tcp" },
			field: g0 + ".portMapping.protocol", rule: "must be one of http|http2|grpc"},
		{name: "port", mutate: func(s *vg) { s.Listeners[0].PortMapping.Port = -1 }, field: g0 + ".portMapping.port", rule: "must be 1..65535"},
		{name: "duplicate port", mutate: func(s *vg) {
			s.Listeners[2].PortMapping.Port, s.Listeners[2].HealthCheck.Port = 8080, nil
		}, field: "spec.listeners[2].portMapping.port", rule: "duplicate listener port 8080"},
		{name: "pool mismatch", mutate: func(s *vg) {
			s.Listeners[0].ConnectionPool = &appmesh.VirtualGatewayConnectionPool{Grpc: &appmesh.VirtualGatewayGrpcConnectionPool{MaxRequests: 1}}
		}, field: g0 + ".connectionPool", rule: `connection pool member "grpc" does not match listener protocol "http"`},
		{name: "pool two", mutate: func(s *vg) {
			s.Listeners[0].ConnectionPool.Http2 = &appmesh.VirtualGatewayHttp2ConnectionPool{MaxRequests: 1}
		}, field: g0 + ".connectionPool", rule: "got 2 (http, http2)"},
		{name: "pool empty", mutate: func(s *vg) { s.Listeners[0].ConnectionPool = &appmesh.VirtualGatewayConnectionPool{} },
			field: g0 + ".connectionPool", rule: "got 0 (one of grpc|http|http2)"},
		{name: "http max connections", mutate: func(s *vg) { s.Listeners[0].ConnectionPool.Http.MaxConnections = 0 },
			field: g0 + ".connectionPool.http.maxConnections", rule: "must be >= 1"},
		{name: "http max pending", mutate: func(s *vg) { s.Listeners[0].ConnectionPool.Http.MaxPendingRequests = ptr(int32(0)) },
			field: g0 + ".connectionPool.http.maxPendingRequests", rule: "must be >= 1"},
		{name: "http2 max requests", mutate: func(s *vg) { s.Listeners[1].ConnectionPool.Http2.MaxRequests = 0 },
			field: "spec.listeners[1].connectionPool.http2.maxRequests", rule: "must be >= 1"},
		{name: "grpc max requests", mutate: func(s *vg) { s.Listeners[2].ConnectionPool.Grpc.MaxRequests = 0 },
			field: "spec.listeners[2].connectionPool.grpc.maxRequests", rule: "must be >= 1"},
		{name: "health protocol no tcp", mutate: func(s *vg) { s.Listeners[0].HealthCheck.Protocol = "tcp" },
			field: g0 + ".healthCheck.protocol", rule: "must be one of http|http2|grpc"},
		{name: "health port", mutate: func(s *vg) { s.Listeners[0].HealthCheck.Port = ptr(int32(8081)) },
			field: g0 + ".healthCheck.port", rule: "must equal the listener port 8080"},
		{name: "health threshold", mutate: func(s *vg) { s.Listeners[0].HealthCheck.UnhealthyThreshold = 11 },
			field: g0 + ".healthCheck.unhealthyThreshold", rule: "must be 2..10"},
		{name: "health interval", mutate: func(s *vg) { s.Listeners[0].HealthCheck.IntervalMillis = 0 },
			field: g0 + ".healthCheck.intervalMillis", rule: "must be 5000..300000"},
	})
}

func TestVirtualGatewayTLSAndLoggingRules(t *testing.T) {
	type vg = appmesh.VirtualGatewaySpec
	const g0, bd = "spec.listeners[0]", "spec.backendDefaults.clientPolicy.tls"
	runRules(t, appmesh.KindVirtualGateway, fullVirtualGateway, []ruleCase[vg]{
		{name: "tls mode", mutate: func(s *vg) { s.Listeners[0].Tls.Mode = "Strict" }, field: g0 + ".tls.mode", rule: "must be one of STRICT|PERMISSIVE|DISABLED"},
		{name: "tls certificate required", mutate: func(s *vg) { s.Listeners[0].Tls.Certificate = nil },
			field: g0 + ".tls.certificate", rule: "is required"},
		{name: "tls certificate empty", mutate: func(s *vg) { s.Listeners[0].Tls.Certificate = &appmesh.VirtualGatewayListenerTlsCertificate{} },
			field: g0 + ".tls.certificate", rule: "got 0 (one of acm|file|sds)"},
		{name: "tls file key", mutate: func(s *vg) { s.Listeners[1].Tls.Certificate.File.PrivateKey = "" },
			field: "spec.listeners[1].tls.certificate.file.privateKey", rule: "is required"},
		{name: "tls trust required", mutate: func(s *vg) { s.Listeners[0].Tls.Validation.Trust = nil },
			field: g0 + ".tls.validation.trust", rule: "is required"},
		{name: "tls san", mutate: func(s *vg) {
			s.Listeners[0].Tls.Validation.SubjectAlternativeNames.Match.Exact[0] = strings.Repeat("s", 255)
		}, field: g0 + ".tls.validation.subjectAlternativeNames.match.exact[0]", rule: "length must be 1..254"},
		{name: "backend tls validation", mutate: func(s *vg) { s.BackendDefaults.ClientPolicy.Tls.Validation = nil },
			field: bd + ".validation", rule: "is required"},
		{name: "backend tls port", mutate: func(s *vg) { s.BackendDefaults.ClientPolicy.Tls.Ports[0] = 0 },
			field: bd + ".ports[0]", rule: "must be 1..65535"},
		{name: "backend tls cert", mutate: func(s *vg) {
			s.BackendDefaults.ClientPolicy.Tls.Certificate.Sds = &appmesh.ListenerTlsSdsCertificate{SecretName: "s"}
		}, field: bd + ".certificate", rule: "got 2 (file, sds)"},
		{name: "log path", mutate: func(s *vg) { s.Logging.AccessLog.File.Path = "" }, field: "spec.logging.accessLog.file.path", rule: "is required"},
		{name: "log json empty", mutate: func(s *vg) {
			s.Logging.AccessLog.File.Format = &appmesh.LoggingFormat{Json: []appmesh.JsonFormatRef{}}
		}, field: "spec.logging.accessLog.file.format.json", rule: "must have at least 1 item"},
	})
}

func TestVirtualGatewayValidEdges(t *testing.T) {
	type vg = appmesh.VirtualGatewaySpec
	minimal := &vg{Listeners: []appmesh.VirtualGatewayListener{{PortMapping: &appmesh.VirtualGatewayPortMapping{Port: 443, Protocol: "http2"}}}}
	runValid(t, []validCase{
		{"minimal", appmesh.KindVirtualGateway, minimal},
		{"empty backend defaults", appmesh.KindVirtualGateway, &vg{
			BackendDefaults: &appmesh.VirtualGatewayBackendDefaults{ClientPolicy: &appmesh.VirtualGatewayClientPolicy{}},
			Listeners:       minimal.Listeners,
			Logging:         &appmesh.VirtualGatewayLogging{},
		}},
	})
}
