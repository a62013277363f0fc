package validation

import "github.com/trellis-mesh/trellis/internal/apis/appmesh"

// Kitchen-sink specs: every field set (unions and "one of" members spread
// over several variants). Each call returns a fresh value that a test may
// mutate.

func ptr[T any](v T) *T { return &v }

func dur(v int64, unit string) *appmesh.Duration { return &appmesh.Duration{Value: ptr(v), Unit: unit} }

func fullMesh() *appmesh.MeshSpec {
	return &appmesh.MeshSpec{
		EgressFilter:     &appmesh.EgressFilter{Type: "ALLOW_ALL"},
		ServiceDiscovery: &appmesh.MeshServiceDiscovery{IpPreference: "IPv6_PREFERRED"},
	}
}

func fullVirtualServiceNode() *appmesh.VirtualServiceSpec {
	return &appmesh.VirtualServiceSpec{Provider: &appmesh.VirtualServiceProvider{
		VirtualNode: &appmesh.VirtualNodeServiceProvider{VirtualNodeName: "serviceB"},
	}}
}

func fullVirtualServiceRouter() *appmesh.VirtualServiceSpec {
	return &appmesh.VirtualServiceSpec{Provider: &appmesh.VirtualServiceProvider{
		VirtualRouter: &appmesh.VirtualRouterServiceProvider{VirtualRouterName: "serviceB-router"},
	}}
}

func fullVirtualRouter() *appmesh.VirtualRouterSpec {
	return &appmesh.VirtualRouterSpec{Listeners: []appmesh.VirtualRouterListener{
		{PortMapping: &appmesh.PortMapping{Port: 8080, Protocol: "http"}},
		{PortMapping: &appmesh.PortMapping{Port: 8081, Protocol: "http2"}},
		{PortMapping: &appmesh.PortMapping{Port: 8082, Protocol: "grpc"}},
		{PortMapping: &appmesh.PortMapping{Port: 8083, Protocol: "tcp"}},
	}}
}

func fullClientPolicy() *appmesh.ClientPolicy {
	return &appmesh.ClientPolicy{Tls: &appmesh.ClientPolicyTls{
		Certificate: &appmesh.ClientTlsCertificate{File: &appmesh.ListenerTlsFileCertificate{
			CertificateChain: "/certs/client.pem", PrivateKey: "/certs/client.key",
		}},
		Enforce: ptr(true),
		Ports:   []int32{443, 8443},
		Validation: &appmesh.TlsValidationContext{
			SubjectAlternativeNames: &appmesh.SubjectAlternativeNames{Match: &appmesh.SubjectAlternativeNameMatchers{
				Exact: []string{"serviceb.svc.cluster.local", "spiffe://mesh/serviceb"},
			}},
			Trust: &appmesh.TlsValidationContextTrust{Acm: &appmesh.TlsValidationContextAcmTrust{
				CertificateAuthorityArns: []string{"arn:aws:acm-pca:us-west-2:111122223333:certificate-authority/abc"},
			}},
		},
	}}
}

func fullHealthCheck(port int32, protocol string) *appmesh.HealthCheckPolicy {
	return &appmesh.HealthCheckPolicy{
		HealthyThreshold: 2, IntervalMillis: 5000, Path: ptr("/ping"), Port: ptr(port),
		Protocol: protocol, TimeoutMillis: 2000, UnhealthyThreshold: 10,
	}
}

// fullVirtualNode has one listener per protocol, Cloud Map discovery and
// json logs.
func fullVirtualNode() *appmesh.VirtualNodeSpec {
	return &appmesh.VirtualNodeSpec{
		BackendDefaults: &appmesh.BackendDefaults{ClientPolicy: fullClientPolicy()},
		Backends: []appmesh.Backend{
			{VirtualService: &appmesh.VirtualServiceBackend{VirtualServiceName: "serviceb.local", ClientPolicy: sdsClientPolicy()}},
			{VirtualService: &appmesh.VirtualServiceBackend{VirtualServiceName: "servicec.local", ClientPolicy: fullClientPolicy()}},
		},
		Listeners: []appmesh.Listener{httpListener(), http2Listener(), grpcListener(), tcpListener()},
		Logging: &appmesh.Logging{AccessLog: &appmesh.AccessLog{File: &appmesh.FileAccessLog{
			Path: "/dev/stdout",
			Format: &appmesh.LoggingFormat{Json: []appmesh.JsonFormatRef{
				{Key: "protocol", Value: "%PROTOCOL%"}, {Key: "duration", Value: "%DURATION%"},
			}},
		}}},
		ServiceDiscovery: &appmesh.ServiceDiscovery{AwsCloudMap: &appmesh.AwsCloudMapServiceDiscovery{
			Attributes: []appmesh.AwsCloudMapInstanceAttribute{
				{Key: "stack", Value: "blue green"}, {Key: "ECS_TASK_DEFINITION_FAMILY", Value: "svc-b:3"},
			},
			IpPreference:  "IPv4_PREFERRED",
			NamespaceName: "apps.local",
			ServiceName:   "serviceb",
		}},
	}
}

// fullVirtualNodeDNS has DNS discovery and text logs.
func fullVirtualNodeDNS() *appmesh.VirtualNodeSpec {
	s := fullVirtualNode()
	s.ServiceDiscovery = &appmesh.ServiceDiscovery{Dns: &appmesh.DnsServiceDiscovery{
		Hostname: "serviceb.apps.local", IpPreference: "IPv6_ONLY", ResponseType: "ENDPOINTS",
	}}
	s.Logging.AccessLog.File.Format = &appmesh.LoggingFormat{Text: ptr("[%START_TIME%] %REQ(:METHOD)%\n")}
	return s
}

func sdsClientPolicy() *appmesh.ClientPolicy {
	return &appmesh.ClientPolicy{Tls: &appmesh.ClientPolicyTls{
		Certificate: &appmesh.ClientTlsCertificate{Sds: &appmesh.ListenerTlsSdsCertificate{SecretName: "spiffe://mesh/a"}},
		Validation: &appmesh.TlsValidationContext{Trust: &appmesh.TlsValidationContextTrust{
			Sds: &appmesh.TlsValidationContextSdsTrust{SecretName: "spiffe://mesh"},
		}},
	}}
}

func httpListener() appmesh.Listener {
	return appmesh.Listener{
		ConnectionPool: &appmesh.VirtualNodeConnectionPool{Http: &appmesh.VirtualNodeHttpConnectionPool{
			MaxConnections: 100, MaxPendingRequests: ptr(int32(10)),
		}},
		HealthCheck: fullHealthCheck(8080, "http"),
		OutlierDetection: &appmesh.OutlierDetection{
			BaseEjectionDuration: dur(10, "s"), Interval: dur(500, "ms"),
			MaxEjectionPercent: ptr(int32(50)), MaxServerErrors: ptr(int64(5)),
		},
		PortMapping: &appmesh.PortMapping{Port: 8080, Protocol: "http"},
		Timeout:     &appmesh.ListenerTimeout{Http: &appmesh.HttpTimeout{Idle: dur(300, "s"), PerRequest: dur(0, "s")}},
		Tls: &appmesh.ListenerTls{
			Certificate: &appmesh.ListenerTlsCertificate{Acm: &appmesh.ListenerTlsAcmCertificate{
				CertificateArn: "arn:aws:acm:us-west-2:111122223333:certificate/abc",
			}},
			Mode: "STRICT",
			Validation: &appmesh.ListenerTlsValidationContext{
				SubjectAlternativeNames: &appmesh.SubjectAlternativeNames{Match: &appmesh.SubjectAlternativeNameMatchers{
					Exact: []string{"client.apps.local"},
				}},
				Trust: &appmesh.ListenerTlsValidationContextTrust{File: &appmesh.TlsValidationContextFileTrust{
					CertificateChain: "/certs/ca.pem",
				}},
			},
		},
	}
}

func http2Listener() appmesh.Listener {
	return appmesh.Listener{
		ConnectionPool: &appmesh.VirtualNodeConnectionPool{Http2: &appmesh.VirtualNodeHttp2ConnectionPool{MaxRequests: 1}},
		HealthCheck:    fullHealthCheck(8081, "http2"),
		PortMapping:    &appmesh.PortMapping{Port: 8081, Protocol: "http2"},
		Timeout:        &appmesh.ListenerTimeout{Http2: &appmesh.HttpTimeout{Idle: dur(1, "s"), PerRequest: dur(15000, "ms")}},
		Tls: &appmesh.ListenerTls{
			Certificate: &appmesh.ListenerTlsCertificate{File: &appmesh.ListenerTlsFileCertificate{
				CertificateChain: "/certs/server.pem", PrivateKey: "/certs/server.key",
			}},
			Mode: "PERMISSIVE",
			Validation: &appmesh.ListenerTlsValidationContext{Trust: &appmesh.ListenerTlsValidationContextTrust{
				Sds: &appmesh.TlsValidationContextSdsTrust{SecretName: "spiffe://mesh"},
			}},
		},
	}
}

func grpcListener() appmesh.Listener {
	return appmesh.Listener{
		ConnectionPool: &appmesh.VirtualNodeConnectionPool{Grpc: &appmesh.VirtualNodeGrpcConnectionPool{MaxRequests: 2048}},
		HealthCheck:    fullHealthCheck(8082, "grpc"),
		PortMapping:    &appmesh.PortMapping{Port: 8082, Protocol: "grpc"},
		Timeout:        &appmesh.ListenerTimeout{Grpc: &appmesh.GrpcTimeout{Idle: dur(60, "s"), PerRequest: dur(5, "s")}},
		Tls: &appmesh.ListenerTls{
			Certificate: &appmesh.ListenerTlsCertificate{Sds: &appmesh.ListenerTlsSdsCertificate{SecretName: "spiffe://mesh/b"}},
			Mode:        "DISABLED",
		},
	}
}

func tcpListener() appmesh.Listener {
	return appmesh.Listener{
		ConnectionPool: &appmesh.VirtualNodeConnectionPool{Tcp: &appmesh.VirtualNodeTcpConnectionPool{MaxConnections: 1}},
		HealthCheck:    fullHealthCheck(8083, "tcp"),
		PortMapping:    &appmesh.PortMapping{Port: 8083, Protocol: "tcp"},
		Timeout:        &appmesh.ListenerTimeout{Tcp: &appmesh.TcpTimeout{Idle: dur(3600, "s")}},
	}
}

// fullVirtualGateway has one listener per gateway protocol.
func fullVirtualGateway() *appmesh.VirtualGatewaySpec {
	node := fullClientPolicy()
	return &appmesh.VirtualGatewaySpec{
		BackendDefaults: &appmesh.VirtualGatewayBackendDefaults{ClientPolicy: &appmesh.VirtualGatewayClientPolicy{
			Tls: (*appmesh.VirtualGatewayClientPolicyTls)(node.Tls),
		}},
		Listeners: []appmesh.VirtualGatewayListener{
			gatewayListener(8080, "http"), gatewayListener(8081, "http2"), gatewayListener(8082, "grpc"),
		},
		Logging: &appmesh.VirtualGatewayLogging{AccessLog: &appmesh.AccessLog{File: &appmesh.FileAccessLog{
			Path: "/dev/stdout", Format: &appmesh.LoggingFormat{Text: ptr("%PROTOCOL%")},
		}}},
	}
}

func gatewayListener(port int32, protocol string) appmesh.VirtualGatewayListener {
	l := appmesh.VirtualGatewayListener{
		ConnectionPool: &appmesh.VirtualGatewayConnectionPool{},
		HealthCheck:    (*appmesh.VirtualGatewayHealthCheckPolicy)(fullHealthCheck(port, protocol)),
		PortMapping:    &appmesh.VirtualGatewayPortMapping{Port: port, Protocol: protocol},
	}
	switch protocol {
	case "http":
		l.ConnectionPool.Http = &appmesh.VirtualGatewayHttpConnectionPool{MaxConnections: 5, MaxPendingRequests: ptr(int32(1))}
		l.Tls = &appmesh.VirtualGatewayListenerTls{
			Certificate: &appmesh.VirtualGatewayListenerTlsCertificate{Acm: &appmesh.ListenerTlsAcmCertificate{CertificateArn: "arn:aws:acm:x"}},
			Mode:        "STRICT",
			Validation: &appmesh.VirtualGatewayListenerTlsValidationContext{
				SubjectAlternativeNames: &appmesh.SubjectAlternativeNames{Match: &appmesh.SubjectAlternativeNameMatchers{Exact: []string{"a.b"}}},
				Trust:                   &appmesh.ListenerTlsValidationContextTrust{File: &appmesh.TlsValidationContextFileTrust{CertificateChain: "/ca.pem"}},
			},
		}
	case "http2":
		l.ConnectionPool.Http2 = &appmesh.VirtualGatewayHttp2ConnectionPool{MaxRequests: 5}
		l.Tls = &appmesh.VirtualGatewayListenerTls{
			Certificate: &appmesh.VirtualGatewayListenerTlsCertificate{File: &appmesh.ListenerTlsFileCertificate{CertificateChain: "/c.pem", PrivateKey: "/k.pem"}},
			Mode:        "PERMISSIVE",
		}
	case "grpc":
		l.ConnectionPool.Grpc = &appmesh.VirtualGatewayGrpcConnectionPool{MaxRequests: 5}
		l.Tls = &appmesh.VirtualGatewayListenerTls{
			Certificate: &appmesh.VirtualGatewayListenerTlsCertificate{Sds: &appmesh.ListenerTlsSdsCertificate{SecretName: "gw"}},
			Mode:        "DISABLED",
		}
	}
	return l
}
