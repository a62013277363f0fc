// Package irgen is the room where App Mesh meaning lives: it turns one
// proxy's view of a mesh snapshot (a virtual node and everything it can
// reach) into a neutral *ir.Proxy. It knows App Mesh's resource naming,
// its defaults (15 s request timeout, 300 s idle, hidden retry policy,
// 2147483647 client circuit breakers, DROP_ALL egress...) and how EMS, the
// managed control plane, shaped Envoy, as recorded in
// shared/reference/appmesh-envoy-semantics.md §3 and §4. Every default sits
// in defaults.go with the section it comes from.
//
// irgen never imports Envoy or go-control-plane: xdsgen turns the IR into
// protos. Translation is pure and deterministic (every map is walked in
// sorted order), and total: App Mesh settings Trellis cannot honour are
// left out and reported in ir.Proxy.Warnings instead of failing the whole
// proxy. ACM certificate and CA ARNs become ir.CertSource.ADSSecret names
// that the reconciler resolves from the ACM stand-in (internal/acm); irgen
// never reads it.
//
// One file per App Mesh concept: proxy.go (entry), options.go, names.go,
// inbound.go (virtual node listeners), outbound.go (backends), routes.go,
// matches.go, retry.go, timeouts.go, clusters.go, tls.go, accesslog.go,
// egressfilter.go, defaults.go, and gateway.go / gatewayroutes.go (virtual
// gateways: ingress listeners whose gateway routes self-redirect into the
// gateway's own egress listener, as App Mesh's gateways did).
package irgen
