package validation

import (
	"strings"
	"testing"

	"github.com/trellis-mesh/trellis/internal/apis/appmesh"
)

type vnCase = ruleCase[appmesh.VirtualNodeSpec]

const (
	bdTLS = "spec.backendDefaults.clientPolicy.tls"
	l0    = "spec.listeners[0]"
	l3    = "spec.listeners[3]"
)

func TestVirtualNodeClientPolicyRules(t *testing.T) {
	tls := func(s *appmesh.VirtualNodeSpec) *appmesh.ClientPolicyTls { return s.BackendDefaults.ClientPolicy.Tls }
	b0 := func(s *appmesh.VirtualNodeSpec) *appmesh.ClientPolicyTls {
		return s.Backends[0].VirtualService.ClientPolicy.Tls
	}
	const b0TLS = "spec.backends[0].virtualService.clientPolicy.tls"
	runRules(t, appmesh.KindVirtualNode, fullVirtualNode, []vnCase{
		{name: "validation required", mutate: func(s *appmesh.VirtualNodeSpec) { tls(s).Validation = nil },
			field: bdTLS + ".validation", rule: "is required"},
		{name: "port range", mutate: func(s *appmesh.VirtualNodeSpec) { tls(s).Ports[1] = 0 },
			field: bdTLS + ".ports[1]", rule: "must be 1..65535"},
		{name: "certificate two members", mutate: func(s *appmesh.VirtualNodeSpec) {
			tls(s).Certificate.Sds = &appmesh.ListenerTlsSdsCertificate{SecretName: "x"}
		}, field: bdTLS + ".certificate", rule: "must have exactly one member, got 2 (file, sds)"},
		{name: "certificate empty", mutate: func(s *appmesh.VirtualNodeSpec) { tls(s).Certificate = &appmesh.ClientTlsCertificate{} },
			field: bdTLS + ".certificate", rule: "must have exactly one member, got 0 (one of file|sds)"},
		{name: "file private key length", mutate: func(s *appmesh.VirtualNodeSpec) {
			tls(s).Certificate.File.PrivateKey = strings.Repeat("k", 256)
		}, field: bdTLS + ".certificate.file.privateKey", rule: "length must be 1..255"},
		{name: "file chain required", mutate: func(s *appmesh.VirtualNodeSpec) { tls(s).Certificate.File.CertificateChain = "" },
			field: bdTLS + ".certificate.file.certificateChain", rule: "is required"},
		{name: "sds secret required", mutate: func(s *appmesh.VirtualNodeSpec) { b0(s).Certificate.Sds.SecretName = "" },
			field: b0TLS + ".certificate.sds.secretName", rule: "is required"},
		{name: "trust required", mutate: func(s *appmesh.VirtualNodeSpec) { tls(s).Validation.Trust = nil },
			field: bdTLS + ".validation.trust", rule: "is required"},
		{name: "trust empty", mutate: func(s *appmesh.VirtualNodeSpec) { tls(s).Validation.Trust = &appmesh.TlsValidationContextTrust{} },
			field: bdTLS + ".validation.trust", rule: "must have exactly one member, got 0 (one of acm|file|sds)"},
		{name: "acm arns items", mutate: func(s *appmesh.VirtualNodeSpec) {
			tls(s).Validation.Trust.Acm.CertificateAuthorityArns = []string{"a", "b", "c", "d"}
		}, field: bdTLS + ".validation.trust.acm.certificateAuthorityArns", rule: "must have 1..3 items"},
		{name: "acm arns empty list", mutate: func(s *appmesh.VirtualNodeSpec) {
			tls(s).Validation.Trust.Acm.CertificateAuthorityArns = []string{}
		}, field: bdTLS + ".validation.trust.acm.certificateAuthorityArns", rule: "must have 1..3 items"},
		{name: "acm arns required", mutate: func(s *appmesh.VirtualNodeSpec) { tls(s).Validation.Trust.Acm.CertificateAuthorityArns = nil },
			field: bdTLS + ".validation.trust.acm.certificateAuthorityArns", rule: "is required"},
		{name: "acm arn empty", mutate: func(s *appmesh.VirtualNodeSpec) { tls(s).Validation.Trust.Acm.CertificateAuthorityArns[0] = "" },
			field: bdTLS + ".validation.trust.acm.certificateAuthorityArns[0]", rule: "is required"},
		{name: "file trust chain", mutate: func(s *appmesh.VirtualNodeSpec) {
			tls(s).Validation.Trust = &appmesh.TlsValidationContextTrust{File: &appmesh.TlsValidationContextFileTrust{}}
		}, field: bdTLS + ".validation.trust.file.certificateChain", rule: "is required"},
		{name: "trust two members", mutate: func(s *appmesh.VirtualNodeSpec) {
			tls(s).Validation.Trust.File = &appmesh.TlsValidationContextFileTrust{CertificateChain: "/ca.pem"}
		}, field: bdTLS + ".validation.trust", rule: "got 2 (acm, file)"},
		{name: "sds trust secret", mutate: func(s *appmesh.VirtualNodeSpec) { b0(s).Validation.Trust.Sds.SecretName = "" },
			field: b0TLS + ".validation.trust.sds.secretName", rule: "is required"},
		{name: "san length", mutate: func(s *appmesh.VirtualNodeSpec) {
			tls(s).Validation.SubjectAlternativeNames.Match.Exact[1] = strings.Repeat("s", 255)
		}, field: bdTLS + ".validation.subjectAlternativeNames.match.exact[1]", rule: "length must be 1..254"},
		{name: "san match required", mutate: func(s *appmesh.VirtualNodeSpec) { tls(s).Validation.SubjectAlternativeNames.Match = nil },
			field: bdTLS + ".validation.subjectAlternativeNames.match", rule: "is required"},
		{name: "san exact required", mutate: func(s *appmesh.VirtualNodeSpec) { tls(s).Validation.SubjectAlternativeNames.Match.Exact = nil },
			field: bdTLS + ".validation.subjectAlternativeNames.match.exact", rule: "is required"},
	})
}

func TestVirtualNodeBackendRules(t *testing.T) {
	runRules(t, appmesh.KindVirtualNode, fullVirtualNode, []vnCase{
		{name: "backend empty union", mutate: func(s *appmesh.VirtualNodeSpec) { s.Backends[1].VirtualService = nil },
			field: "spec.backends[1]", rule: "must have exactly one member, got 0 (one of virtualService)"},
		{name: "backend name required", mutate: func(s *appmesh.VirtualNodeSpec) { s.Backends[1].VirtualService.VirtualServiceName = "" },
			field: "spec.backends[1].virtualService.virtualServiceName", rule: "is required"},
		{name: "backend duplicate", mutate: func(s *appmesh.VirtualNodeSpec) {
			s.Backends[1].VirtualService.VirtualServiceName = "serviceb.local"
		}, field: "spec.backends[1].virtualService.virtualServiceName", rule: `duplicate backend "serviceb.local"`},
	})
}

func TestVirtualNodeListenerRules(t *testing.T) {
	runRules(t, appmesh.KindVirtualNode, fullVirtualNode, []vnCase{
		{name: "port mapping required", mutate: func(s *appmesh.VirtualNodeSpec) { s.Listeners[0].PortMapping = nil },
			field: l0 + ".portMapping", rule: "is required"},
		{name: "port zero", mutate: func(s *appmesh.VirtualNodeSpec) { s.Listeners[0].PortMapping.Port = 0 },
			field: l0 + ".portMapping.port", rule: "must be 1..65535"},
		{name: "port too big", mutate: func(s *appmesh.VirtualNodeSpec) { s.Listeners[0].PortMapping.Port = 65536 },
			field: l0 + ".portMapping.port", rule: "must be 1..65535"},
		{name: "protocol enum is case-sensitive", mutate: func(s *appmesh.VirtualNodeSpec) { s.Listeners[0].PortMapping.Protocol = "HTTP" },
			field: l0 + ".portMapping.protocol", rule: "must be one of http|http2|grpc|tcp"},
		{name: "protocol required", mutate: func(s *appmesh.VirtualNodeSpec) { s.Listeners[0].PortMapping.Protocol = "" },
			field: l0 + ".portMapping.protocol", rule: "is required"},
		{name: "duplicate port", mutate: func(s *appmesh.VirtualNodeSpec) {
			s.Listeners[1].PortMapping.Port = 8080
			s.Listeners[1].HealthCheck.Port = ptr(int32(8080))
		}, field: "spec.listeners[1].portMapping.port", rule: "duplicate listener port 8080"},
		{name: "pool protocol mismatch", mutate: func(s *appmesh.VirtualNodeSpec) {
			s.Listeners[3].ConnectionPool = &appmesh.VirtualNodeConnectionPool{Http: &appmesh.VirtualNodeHttpConnectionPool{MaxConnections: 1}}
		}, field: l3 + ".connectionPool", rule: `connection pool member "http" does not match listener protocol "tcp"`},
		{name: "pool two members", mutate: func(s *appmesh.VirtualNodeSpec) {
			s.Listeners[3].ConnectionPool.Http = &appmesh.VirtualNodeHttpConnectionPool{MaxConnections: 1}
		}, field: l3 + ".connectionPool", rule: "must have exactly one member, got 2 (http, tcp)"},
		{name: "pool empty", mutate: func(s *appmesh.VirtualNodeSpec) { s.Listeners[3].ConnectionPool = &appmesh.VirtualNodeConnectionPool{} },
			field: l3 + ".connectionPool", rule: "got 0 (one of grpc|http|http2|tcp)"},
		{name: "tcp max connections", mutate: func(s *appmesh.VirtualNodeSpec) { s.Listeners[3].ConnectionPool.Tcp.MaxConnections = 0 },
			field: l3 + ".connectionPool.tcp.maxConnections", rule: "must be >= 1"},
		{name: "http max connections", mutate: func(s *appmesh.VirtualNodeSpec) { s.Listeners[0].ConnectionPool.Http.MaxConnections = -1 },
			field: l0 + ".connectionPool.http.maxConnections", rule: "must be >= 1"},
		{name: "http max pending", mutate: func(s *appmesh.VirtualNodeSpec) {
			s.Listeners[0].ConnectionPool.Http.MaxPendingRequests = ptr(int32(0))
		}, field: l0 + ".connectionPool.http.maxPendingRequests", rule: "must be >= 1"},
		{name: "http2 max requests", mutate: func(s *appmesh.VirtualNodeSpec) { s.Listeners[1].ConnectionPool.Http2.MaxRequests = 0 },
			field: "spec.listeners[1].connectionPool.http2.maxRequests", rule: "must be >= 1"},
		{name: "grpc max requests", mutate: func(s *appmesh.VirtualNodeSpec) { s.Listeners[2].ConnectionPool.Grpc.MaxRequests = 0 },
			field: "spec.listeners[2].connectionPool.grpc.maxRequests", rule: "must be >= 1"},
		{name: "timeout protocol mismatch", mutate: func(s *appmesh.VirtualNodeSpec) {
			s.Listeners[0].Timeout = &appmesh.ListenerTimeout{Tcp: &appmesh.TcpTimeout{}}
		}, field: l0 + ".timeout", rule: `timeout member "tcp" does not match listener protocol "http"`},
		{name: "timeout two members", mutate: func(s *appmesh.VirtualNodeSpec) { s.Listeners[0].Timeout.Http2 = &appmesh.HttpTimeout{} },
			field: l0 + ".timeout", rule: "must have exactly one member, got 2 (http, http2)"},
		{name: "duration unit enum", mutate: func(s *appmesh.VirtualNodeSpec) { s.Listeners[0].Timeout.Http.Idle.Unit = "m" },
			field: l0 + ".timeout.http.idle.unit", rule: "must be one of s|ms"},
		{name: "duration value negative", mutate: func(s *appmesh.VirtualNodeSpec) { s.Listeners[0].Timeout.Http.PerRequest.Value = ptr(int64(-1)) },
			field: l0 + ".timeout.http.perRequest.value", rule: "must be >= 0"},
		{name: "duration value needs unit", mutate: func(s *appmesh.VirtualNodeSpec) { s.Listeners[0].Timeout.Http.Idle.Unit = "" },
			field: l0 + ".timeout.http.idle.unit", rule: "is required"},
		{name: "duration unit needs value", mutate: func(s *appmesh.VirtualNodeSpec) { s.Listeners[0].Timeout.Http.Idle.Value = nil },
			field: l0 + ".timeout.http.idle.value", rule: "is required"},
		{name: "grpc timeout", mutate: func(s *appmesh.VirtualNodeSpec) { s.Listeners[2].Timeout.Grpc.PerRequest.Unit = "h" },
			field: "spec.listeners[2].timeout.grpc.perRequest.unit", rule: "must be one of s|ms"},
		{name: "http2 timeout", mutate: func(s *appmesh.VirtualNodeSpec) { s.Listeners[1].Timeout.Http2.Idle.Value = ptr(int64(-5)) },
			field: "spec.listeners[1].timeout.http2.idle.value", rule: "must be >= 0"},
		{name: "tcp timeout", mutate: func(s *appmesh.VirtualNodeSpec) { s.Listeners[3].Timeout.Tcp.Idle.Unit = "S" },
			field: l3 + ".timeout.tcp.idle.unit", rule: "must be one of s|ms"},
	})
}

func TestVirtualNodeHealthAndOutlierRules(t *testing.T) {
	hc := func(s *appmesh.VirtualNodeSpec) *appmesh.HealthCheckPolicy { return s.Listeners[0].HealthCheck }
	od := func(s *appmesh.VirtualNodeSpec) *appmesh.OutlierDetection { return s.Listeners[0].OutlierDetection }
	runRules(t, appmesh.KindVirtualNode, fullVirtualNode, []vnCase{
		{name: "healthy threshold low", mutate: func(s *appmesh.VirtualNodeSpec) { hc(s).HealthyThreshold = 1 },
			field: l0 + ".healthCheck.healthyThreshold", rule: "must be 2..10"},
		{name: "healthy threshold high", mutate: func(s *appmesh.VirtualNodeSpec) { hc(s).HealthyThreshold = 11 },
			field: l0 + ".healthCheck.healthyThreshold", rule: "must be 2..10"},
		{name: "interval low", mutate: func(s *appmesh.VirtualNodeSpec) { hc(s).IntervalMillis = 4999 },
			field: l0 + ".healthCheck.intervalMillis", rule: "must be 5000..300000"},
		{name: "interval high", mutate: func(s *appmesh.VirtualNodeSpec) { hc(s).IntervalMillis = 300001 },
			field: l0 + ".healthCheck.intervalMillis", rule: "must be 5000..300000"},
		{name: "timeout low", mutate: func(s *appmesh.VirtualNodeSpec) { hc(s).TimeoutMillis = 1999 },
			field: l0 + ".healthCheck.timeoutMillis", rule: "must be 2000..60000"},
		{name: "timeout high", mutate: func(s *appmesh.VirtualNodeSpec) { hc(s).TimeoutMillis = 60001 },
			field: l0 + ".healthCheck.timeoutMillis", rule: "must be 2000..60000"},
		{name: "unhealthy threshold", mutate: func(s *appmesh.VirtualNodeSpec) { hc(s).UnhealthyThreshold = 0 },
			field: l0 + ".healthCheck.unhealthyThreshold", rule: "must be 2..10"},
		{name: "protocol enum", mutate: func(s *appmesh.VirtualNodeSpec) { hc(s).Protocol = "udp" },
			field: l0 + ".healthCheck.protocol", rule: "must be one of http|http2|grpc|tcp"},
		{name: "protocol required", mutate: func(s *appmesh.VirtualNodeSpec) { hc(s).Protocol = "" },
			field: l0 + ".healthCheck.protocol", rule: "is required"},
		{name: "port range", mutate: func(s *appmesh.VirtualNodeSpec) { hc(s).Port = ptr(int32(70000)) },
			field: l0 + ".healthCheck.port", rule: "must be 1..65535"},
		{name: "port equals listener", mutate: func(s *appmesh.VirtualNodeSpec) { hc(s).Port = ptr(int32(9090)) },
			field: l0 + ".healthCheck.port", rule: "must equal the listener port 8080"},
		{name: "base ejection required", mutate: func(s *appmesh.VirtualNodeSpec) { od(s).BaseEjectionDuration = nil },
			field: l0 + ".outlierDetection.baseEjectionDuration", rule: "is required"},
		{name: "interval empty", mutate: func(s *appmesh.VirtualNodeSpec) { od(s).Interval = &appmesh.Duration{} },
			field: l0 + ".outlierDetection.interval.unit", rule: "is required", others: true},
		{name: "interval unit", mutate: func(s *appmesh.VirtualNodeSpec) { od(s).Interval.Unit = "sec" },
			field: l0 + ".outlierDetection.interval.unit", rule: "must be one of s|ms"},
		{name: "max ejection required", mutate: func(s *appmesh.VirtualNodeSpec) { od(s).MaxEjectionPercent = nil },
			field: l0 + ".outlierDetection.maxEjectionPercent", rule: "is required"},
		{name: "max ejection range", mutate: func(s *appmesh.VirtualNodeSpec) { od(s).MaxEjectionPercent = ptr(int32(101)) },
			field: l0 + ".outlierDetection.maxEjectionPercent", rule: "must be 0..100"},
		{name: "max server errors required", mutate: func(s *appmesh.VirtualNodeSpec) { od(s).MaxServerErrors = nil },
			field: l0 + ".outlierDetection.maxServerErrors", rule: "is required"},
		{name: "max server errors min", mutate: func(s *appmesh.VirtualNodeSpec) { od(s).MaxServerErrors = ptr(int64(0)) },
			field: l0 + ".outlierDetection.maxServerErrors", rule: "must be >= 1"},
	})
}

func TestVirtualNodeListenerTLSRules(t *testing.T) {
	tl := func(s *appmesh.VirtualNodeSpec, i int) *appmesh.ListenerTls { return s.Listeners[i].Tls }
	runRules(t, appmesh.KindVirtualNode, fullVirtualNode, []vnCase{
		{name: "mode enum", mutate: func(s *appmesh.VirtualNodeSpec) { tl(s, 0).Mode = "strict" },
			field: l0 + ".tls.mode", rule: "must be one of STRICT|PERMISSIVE|DISABLED"},
		{name: "mode required", mutate: func(s *appmesh.VirtualNodeSpec) { tl(s, 0).Mode = "" },
			field: l0 + ".tls.mode", rule: "is required"},
		{name: "certificate required", mutate: func(s *appmesh.VirtualNodeSpec) { tl(s, 0).Certificate = nil },
			field: l0 + ".tls.certificate", rule: "is required"},
		{name: "certificate two members", mutate: func(s *appmesh.VirtualNodeSpec) {
			tl(s, 0).Certificate.Sds = &appmesh.ListenerTlsSdsCertificate{SecretName: "x"}
		}, field: l0 + ".tls.certificate", rule: "must have exactly one member, got 2 (acm, sds)"},
		{name: "acm arn required", mutate: func(s *appmesh.VirtualNodeSpec) { tl(s, 0).Certificate.Acm.CertificateArn = "" },
			field: l0 + ".tls.certificate.acm.certificateArn", rule: "is required"},
		{name: "file chain length", mutate: func(s *appmesh.VirtualNodeSpec) {
			tl(s, 1).Certificate.File.CertificateChain = strings.Repeat("c", 256)
		}, field: "spec.listeners[1].tls.certificate.file.certificateChain", rule: "length must be 1..255"},
		{name: "file key required", mutate: func(s *appmesh.VirtualNodeSpec) { tl(s, 1).Certificate.File.PrivateKey = "" },
			field: "spec.listeners[1].tls.certificate.file.privateKey", rule: "is required"},
		{name: "sds secret required", mutate: func(s *appmesh.VirtualNodeSpec) { tl(s, 2).Certificate.Sds.SecretName = "" },
			field: "spec.listeners[2].tls.certificate.sds.secretName", rule: "is required"},
		{name: "validation trust required", mutate: func(s *appmesh.VirtualNodeSpec) { tl(s, 0).Validation.Trust = nil },
			field: l0 + ".tls.validation.trust", rule: "is required"},
		{name: "validation trust empty", mutate: func(s *appmesh.VirtualNodeSpec) {
			tl(s, 0).Validation.Trust = &appmesh.ListenerTlsValidationContextTrust{}
		}, field: l0 + ".tls.validation.trust", rule: "got 0 (one of file|sds)"},
		{name: "validation trust two", mutate: func(s *appmesh.VirtualNodeSpec) {
			tl(s, 0).Validation.Trust.Sds = &appmesh.TlsValidationContextSdsTrust{SecretName: "x"}
		}, field: l0 + ".tls.validation.trust", rule: "got 2 (file, sds)"},
		{name: "validation file chain", mutate: func(s *appmesh.VirtualNodeSpec) { tl(s, 0).Validation.Trust.File.CertificateChain = "" },
			field: l0 + ".tls.validation.trust.file.certificateChain", rule: "is required"},
		{name: "validation san", mutate: func(s *appmesh.VirtualNodeSpec) { tl(s, 0).Validation.SubjectAlternativeNames.Match.Exact[0] = "" },
			field: l0 + ".tls.validation.subjectAlternativeNames.match.exact[0]", rule: "length must be 1..254"},
	})
}

func TestVirtualNodeDiscoveryRules(t *testing.T) {
	cm := func(s *appmesh.VirtualNodeSpec) *appmesh.AwsCloudMapServiceDiscovery {
		return s.ServiceDiscovery.AwsCloudMap
	}
	const cmp = "spec.serviceDiscovery.awsCloudMap"
	runRules(t, appmesh.KindVirtualNode, fullVirtualNode, []vnCase{
		{name: "discovery required with listeners", mutate: func(s *appmesh.VirtualNodeSpec) { s.ServiceDiscovery = nil },
			field: "spec.serviceDiscovery", rule: "is required when listeners are set"},
		{name: "discovery two members", mutate: func(s *appmesh.VirtualNodeSpec) {
			s.ServiceDiscovery.Dns = &appmesh.DnsServiceDiscovery{Hostname: "a"}
		}, field: "spec.serviceDiscovery", rule: "must have exactly one member, got 2 (awsCloudMap, dns)"},
		{name: "discovery empty", mutate: func(s *appmesh.VirtualNodeSpec) { s.ServiceDiscovery = &appmesh.ServiceDiscovery{} },
			field: "spec.serviceDiscovery", rule: "got 0 (one of awsCloudMap|dns)"},
		{name: "namespace required", mutate: func(s *appmesh.VirtualNodeSpec) { cm(s).NamespaceName = "" },
			field: cmp + ".namespaceName", rule: "is required"},
		{name: "namespace length", mutate: func(s *appmesh.VirtualNodeSpec) { cm(s).NamespaceName = strings.Repeat("n", 1025) },
			field: cmp + ".namespaceName", rule: "length must be 1..1024"},
		{name: "service length", mutate: func(s *appmesh.VirtualNodeSpec) { cm(s).ServiceName = strings.Repeat("n", 1025) },
			field: cmp + ".serviceName", rule: "length must be 1..1024"},
		{name: "ip preference enum", mutate: func(s *appmesh.VirtualNodeSpec) { cm(s).IpPreference = "ipv4_only" },
			field: cmp + ".ipPreference", rule: "must be one of IPv6_PREFERRED|IPv4_PREFERRED|IPv4_ONLY|IPv6_ONLY"},
		{name: "attribute key required", mutate: func(s *appmesh.VirtualNodeSpec) { cm(s).Attributes[0].Key = "" },
			field: cmp + ".attributes[0].key", rule: "is required"},
		{name: "attribute key pattern", mutate: func(s *appmesh.VirtualNodeSpec) { cm(s).Attributes[1].Key = "a b" },
			field: cmp + ".attributes[1].key", rule: "must match ^[a-zA-Z0-9!-~]+$"},
		{name: "attribute key length", mutate: func(s *appmesh.VirtualNodeSpec) { cm(s).Attributes[0].Key = strings.Repeat("k", 256) },
			field: cmp + ".attributes[0].key", rule: "length must be 1..255"},
		{name: "attribute value pattern", mutate: func(s *appmesh.VirtualNodeSpec) { cm(s).Attributes[0].Value = " lead" },
			field: cmp + ".attributes[0].value", rule: "must match ^("},
		{name: "attribute value non-ascii", mutate: func(s *appmesh.VirtualNodeSpec) { cm(s).Attributes[0].Value = "blé" },
			field: cmp + ".attributes[0].value", rule: "must match"},
		{name: "attribute value required", mutate: func(s *appmesh.VirtualNodeSpec) { cm(s).Attributes[0].Value = "" },
			field: cmp + ".attributes[0].value", rule: "is required"},
		{name: "attribute value length", mutate: func(s *appmesh.VirtualNodeSpec) { cm(s).Attributes[0].Value = strings.Repeat("v", 1025) },
			field: cmp + ".attributes[0].value", rule: "length must be 1..1024"},
		{name: "dns hostname required", base: fullVirtualNodeDNS, mutate: func(s *appmesh.VirtualNodeSpec) {
			s.ServiceDiscovery.Dns.Hostname = ""
		}, field: "spec.serviceDiscovery.dns.hostname", rule: "is required"},
		{name: "dns response type", base: fullVirtualNodeDNS, mutate: func(s *appmesh.VirtualNodeSpec) {
			s.ServiceDiscovery.Dns.ResponseType = "LoadBalancer"
		}, field: "spec.serviceDiscovery.dns.responseType", rule: "must be one of LOADBALANCER|ENDPOINTS"},
		{name: "dns ip preference", base: fullVirtualNodeDNS, mutate: func(s *appmesh.VirtualNodeSpec) {
			s.ServiceDiscovery.Dns.IpPreference = "IPV6_ONLY"
		}, field: "spec.serviceDiscovery.dns.ipPreference", rule: "must be one of"},
	})
}

func TestVirtualNodeLoggingRules(t *testing.T) {
	const lf = "spec.logging.accessLog.file"
	runRules(t, appmesh.KindVirtualNode, fullVirtualNode, []vnCase{
		{name: "access log empty", mutate: func(s *appmesh.VirtualNodeSpec) { s.Logging.AccessLog = &appmesh.AccessLog{} },
			field: "spec.logging.accessLog", rule: "must have exactly one member, got 0 (one of file)"},
		{name: "log path required", mutate: func(s *appmesh.VirtualNodeSpec) { s.Logging.AccessLog.File.Path = "" },
			field: lf + ".path", rule: "is required"},
		{name: "log path length", mutate: func(s *appmesh.VirtualNodeSpec) { s.Logging.AccessLog.File.Path = strings.Repeat("p", 256) },
			field: lf + ".path", rule: "length must be 1..255"},
		{name: "format empty", mutate: func(s *appmesh.VirtualNodeSpec) { s.Logging.AccessLog.File.Format = &appmesh.LoggingFormat{} },
			field: lf + ".format", rule: "got 0 (one of json|text)"},
		{name: "format two members", mutate: func(s *appmesh.VirtualNodeSpec) { s.Logging.AccessLog.File.Format.Text = ptr("%PROTOCOL%") },
			field: lf + ".format", rule: "got 2 (json, text)"},
		{name: "json empty list", mutate: func(s *appmesh.VirtualNodeSpec) { s.Logging.AccessLog.File.Format.Json = []appmesh.JsonFormatRef{} },
			field: lf + ".format.json", rule: "must have at least 1 item"},
		{name: "json key required", mutate: func(s *appmesh.VirtualNodeSpec) { s.Logging.AccessLog.File.Format.Json[0].Key = "" },
			field: lf + ".format.json[0].key", rule: "is required"},
		{name: "json key length", mutate: func(s *appmesh.VirtualNodeSpec) {
			s.Logging.AccessLog.File.Format.Json[0].Key = strings.Repeat("k", 101)
		}, field: lf + ".format.json[0].key", rule: "length must be 1..100"},
		{name: "json key duplicate", mutate: func(s *appmesh.VirtualNodeSpec) { s.Logging.AccessLog.File.Format.Json[1].Key = "protocol" },
			field: lf + ".format.json[1].key", rule: `duplicate key "protocol"`},
		{name: "json value length", mutate: func(s *appmesh.VirtualNodeSpec) {
			s.Logging.AccessLog.File.Format.Json[1].Value = strings.Repeat("v", 101)
		}, field: lf + ".format.json[1].value", rule: "length must be 1..100"},
		{name: "json value required", mutate: func(s *appmesh.VirtualNodeSpec) { s.Logging.AccessLog.File.Format.Json[1].Value = "" },
			field: lf + ".format.json[1].value", rule: "is required"},
		{name: "text empty", base: fullVirtualNodeDNS, mutate: func(s *appmesh.VirtualNodeSpec) {
			s.Logging.AccessLog.File.Format.Text = ptr("")
		}, field: lf + ".format.text", rule: "length must be 1..1000"},
		{name: "text length", base: fullVirtualNodeDNS, mutate: func(s *appmesh.VirtualNodeSpec) {
			s.Logging.AccessLog.File.Format.Text = ptr(strings.Repeat("t", 1001))
		}, field: lf + ".format.text", rule: "length must be 1..1000"},
	})
}

func TestVirtualNodeValidEdges(t *testing.T) {
	noListeners := fullVirtualNode()
	noListeners.Listeners, noListeners.ServiceDiscovery = nil, nil
	emptyOptionalDuration := fullVirtualNode()
	emptyOptionalDuration.Listeners[0].Timeout.Http.Idle = &appmesh.Duration{}
	emptySANs := fullVirtualNode()
	emptySANs.Listeners[0].Tls.Validation.SubjectAlternativeNames.Match.Exact = []string{}
	edgeAttrs := fullVirtualNode()
	edgeAttrs.ServiceDiscovery.AwsCloudMap.Attributes = []appmesh.AwsCloudMapInstanceAttribute{
		{Key: "!~", Value: "a\tb c "}, {Key: strings.Repeat("k", 255), Value: "x"},
	}
	runValid(t, []validCase{
		{"empty", appmesh.KindVirtualNode, &appmesh.VirtualNodeSpec{}},
		{"no listeners no discovery", appmesh.KindVirtualNode, noListeners},
		{"empty optional duration", appmesh.KindVirtualNode, emptyOptionalDuration},
		{"empty SAN list", appmesh.KindVirtualNode, emptySANs},
		{"attribute edge values", appmesh.KindVirtualNode, edgeAttrs},
		{"empty client policy", appmesh.KindVirtualNode, &appmesh.VirtualNodeSpec{
			BackendDefaults: &appmesh.BackendDefaults{ClientPolicy: &appmesh.ClientPolicy{}},
			Logging:         &appmesh.Logging{},
		}},
	})
}
