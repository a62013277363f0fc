package xdsgen

import (
	"fmt"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routerv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/trellis-mesh/trellis/internal/ir"
)

// Extension names of the HTTP chain.
const (
	hcmName    = "envoy.filters.network.http_connection_manager"
	routerName = "envoy.filters.http.router"
)

// adsSource is the config source of every RDS/EDS reference: the proxy's
// one ADS stream, v3 resources, as App Mesh proxies expect.
func adsSource() *corev3.ConfigSource {
	return &corev3.ConfigSource{
		ConfigSourceSpecifier: &corev3.ConfigSource_Ads{Ads: &corev3.AggregatedConfigSource{}},
		ResourceApiVersion:    corev3.ApiVersion_V3,
	}
}

// httpFilters returns the network filter list of an HTTP chain: one HCM.
func httpFilters(h *ir.HTTPManager) ([]*listenerv3.Filter, error) {
	m, err := buildHCM(h)
	if err != nil {
		return nil, err
	}
	a, err := typed(m)
	if err != nil {
		return nil, err
	}
	return []*listenerv3.Filter{{
		Name:       hcmName,
		ConfigType: &listenerv3.Filter_TypedConfig{TypedConfig: a},
	}}, nil
}

// buildHCM maps an HTTP manager. Path normalisation settings follow App
// Mesh (≥ v1.22 images): normalise and merge slashes so prefix matches
// cannot be dodged with "//" or "/./", but keep escaped slashes untouched
// because rewriting %2F would change what the upstream app sees.
func buildHCM(h *ir.HTTPManager) (*hcmv3.HttpConnectionManager, error) {
	codec, err := codecType(h.Protocol)
	if err != nil {
		return nil, fmt.Errorf("http manager %q: %w", h.StatPrefix, err)
	}
	router, err := typed(&routerv3.Router{})
	if err != nil {
		return nil, err
	}
	logs, err := accessLogs(h.AccessLogs)
	if err != nil {
		return nil, fmt.Errorf("http manager %q: %w", h.StatPrefix, err)
	}
	m := &hcmv3.HttpConnectionManager{
		StatPrefix: h.StatPrefix,
		CodecType:  codec,
		RouteSpecifier: &hcmv3.HttpConnectionManager_Rds{Rds: &hcmv3.Rds{
			ConfigSource:    adsSource(),
			RouteConfigName: h.RouteConfig,
		}},
		HttpFilters: []*hcmv3.HttpFilter{{
			Name:       routerName,
			ConfigType: &hcmv3.HttpFilter_TypedConfig{TypedConfig: router},
		}},
		AccessLog:                    logs,
		NormalizePath:                wrapperspb.Bool(true),
		MergeSlashes:                 true,
		PathWithEscapedSlashesAction: hcmv3.HttpConnectionManager_KEEP_UNCHANGED,
	}
	if h.Tracing {
		// Empty: the provider is the bootstrap's (App Mesh's shape).
		m.Tracing = &hcmv3.HttpConnectionManager_Tracing{}
	}
	if h.ForwardClientCert {
		// The app sees who called: the verified client certificate's
		// URI SAN (SPIFFE id) and subject, never a client-sent header.
		m.ForwardClientCertDetails = hcmv3.HttpConnectionManager_SANITIZE_SET
		m.SetCurrentClientCertDetails = &hcmv3.HttpConnectionManager_SetCurrentClientCertDetails{
			Subject: wrapperspb.Bool(true), Uri: true,
		}
	}
	if h.StreamIdleTimeout != nil {
		m.StreamIdleTimeout = durationpb.New(h.StreamIdleTimeout.Std())
	}
	if h.Protocol == ir.HTTP {
		// WebSockets ride on HTTP/1.1 upgrades; App Mesh enabled them on
		// every http listener.
		m.UpgradeConfigs = []*hcmv3.HttpConnectionManager_UpgradeConfig{{UpgradeType: "websocket"}}
	}
	return m, nil
}

// codecType: http listeners accept HTTP/1.1 and h2c (AUTO); http2 and grpc
// listeners speak HTTP/2 only, as App Mesh declared them.
func codecType(p ir.Protocol) (hcmv3.HttpConnectionManager_CodecType, error) {
	switch p {
	case ir.HTTP:
		return hcmv3.HttpConnectionManager_AUTO, nil
	case ir.HTTP2, ir.GRPC:
		return hcmv3.HttpConnectionManager_HTTP2, nil
	}
	return 0, fmt.Errorf("protocol %q is not an HTTP protocol", p)
}
