package validation

// seedCorpus mirrors testdata/fuzz/FuzzSpec: realistic specs, the first byte
// picking the kind (index into appmesh.Kinds). TestSeedCorpusFiles checks
// that the files hold exactly these inputs.
var seedCorpus = []struct {
	name string
	data string
}{
	{"mesh", "\x00" + `{"egressFilter":{"type":"ALLOW_ALL"},"serviceDiscovery":{"ipPreference":"IPv4_PREFERRED"}}`},
	{"virtual-node-colorteller", "\x01" + `{"listeners":[{"portMapping":{"port":9080,"protocol":"http"},` +
		`"healthCheck":{"healthyThreshold":2,"intervalMillis":5000,"path":"/ping","protocol":"http","timeoutMillis":2000,"unhealthyThreshold":2},` +
		`"connectionPool":{"http":{"maxConnections":10,"maxPendingRequests":5}},` +
		`"outlierDetection":{"maxServerErrors":5,"interval":{"value":10,"unit":"s"},"baseEjectionDuration":{"value":10,"unit":"s"},"maxEjectionPercent":50},` +
		`"timeout":{"http":{"perRequest":{"value":15,"unit":"s"},"idle":{"value":300,"unit":"s"}}},` +
		`"tls":{"mode":"STRICT","certificate":{"file":{"certificateChain":"/keys/colorteller_cert_chain.pem","privateKey":"/keys/colorteller_key.pem"}}}}],` +
		`"serviceDiscovery":{"dns":{"hostname":"colorteller-white.default.svc.cluster.local","responseType":"LOADBALANCER"}},` +
		`"backends":[{"virtualService":{"virtualServiceName":"colorteller.apps.local","clientPolicy":{"tls":{"enforce":true,"ports":[9080],` +
		`"validation":{"trust":{"file":{"certificateChain":"/keys/ca_cert.pem"}},"subjectAlternativeNames":{"match":{"exact":["colorteller.apps.local"]}}}}}}}],` +
		`"logging":{"accessLog":{"file":{"path":"/dev/stdout","format":{"json":[{"key":"protocol","value":"%PROTOCOL%"}]}}}}}`},
	{"virtual-node-cloudmap", "\x01" + `{"listeners":[{"portMapping":{"port":8080,"protocol":"grpc"},"connectionPool":{"grpc":{"maxRequests":100}}}],` +
		`"serviceDiscovery":{"awsCloudMap":{"namespaceName":"apps.local","serviceName":"color","attributes":[{"key":"ECS_TASK_DEFINITION_FAMILY","value":"color-v1"}],"ipPreference":"IPv6_PREFERRED"}},` +
		`"backendDefaults":{"clientPolicy":{"tls":{"validation":{"trust":{"acm":{"certificateAuthorityArns":["arn:aws:acm-pca:us-west-2:111122223333:certificate-authority/abc"]}}}}}}}`},
	{"virtual-router", "\x02" + `{"listeners":[{"portMapping":{"port":9080,"protocol":"http"}},{"portMapping":{"port":9090,"protocol":"grpc"}}]}`},
	{"route-http", "\x03" + `{"priority":10,"httpRoute":{"match":{"prefix":"/tell","headers":[{"name":"color_header","match":{"exact":"blue"}}],"method":"GET","port":9080},` +
		`"action":{"weightedTargets":[{"virtualNode":"colorteller-blue","weight":80,"port":9080},{"virtualNode":"colorteller-red","weight":20}]},` +
		`"retryPolicy":{"maxRetries":3,"perRetryTimeout":{"value":2000,"unit":"ms"},"httpRetryEvents":["server-error","gateway-error"],"tcpRetryEvents":["connection-error"]},` +
		`"timeout":{"perRequest":{"value":5,"unit":"s"}}}}`},
	{"route-grpc", "\x03" + `{"grpcRoute":{"match":{"serviceName":"color.ColorService","methodName":"GetColor","metadata":[{"name":"x-canary","invert":true,"match":{"range":{"start":1,"end":10}}}]},` +
		`"action":{"weightedTargets":[{"virtualNode":"color-v2","weight":100}]},` +
		`"retryPolicy":{"maxRetries":2,"perRetryTimeout":{"value":1,"unit":"s"},"grpcRetryEvents":["unavailable","deadline-exceeded"]}}}`},
	{"virtual-service", "\x04" + `{"provider":{"virtualRouter":{"virtualRouterName":"colorteller-vr"}}}`},
	{"virtual-gateway", "\x05" + `{"listeners":[{"portMapping":{"port":8088,"protocol":"http"},"connectionPool":{"http":{"maxConnections":1024}},` +
		`"healthCheck":{"healthyThreshold":2,"intervalMillis":10000,"protocol":"http","path":"/","timeoutMillis":5000,"unhealthyThreshold":3,"port":8088},` +
		`"tls":{"mode":"PERMISSIVE","certificate":{"acm":{"certificateArn":"arn:aws:acm:us-west-2:111122223333:certificate/abc"}}}}],` +
		`"logging":{"accessLog":{"file":{"path":"/dev/stdout","format":{"text":"[%START_TIME%] %REQ(:METHOD)% %PROTOCOL%\n"}}}}}`},
	{"gateway-route-http", "\x06" + `{"priority":0,"httpRoute":{"match":{"prefix":"/color/","hostname":{"suffix":".example.com"}},` +
		`"action":{"target":{"virtualService":{"virtualServiceName":"colorteller.apps.local"},"port":9080},` +
		`"rewrite":{"prefix":{"value":"/"},"hostname":{"defaultTargetHostname":"ENABLED"}}}}}`},
	{"virtual-node-invalid", "\x01" + `{"listeners":[{"portMapping":{"port":8080,"protocol":"tcp"},"connectionPool":{"http":{"maxConnections":0}}},` +
		`{"portMapping":{"port":8080,"protocol":"HTTP"}}],"backends":[{},{"virtualService":{"virtualServiceName":"a"}},{"virtualService":{"virtualServiceName":"a"}}]}`},
	{"gateway-route-invalid", "\x06" + `{"httpRoute":{"match":{"prefix":"/aws-appmesh/x","path":{"exact":"/a"}},"action":{"target":{"virtualService":{}},"rewrite":{"prefix":{"value":"x"}}}},` +
		`"grpcRoute":{"match":{"serviceName":"aws.appmesh"},"action":{"target":{"virtualService":{"virtualServiceName":"s"}}}}}`},
}
