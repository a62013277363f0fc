package xdsgen

import (
	"strings"
	"testing"
	"time"

	"github.com/trellis-mesh/trellis/internal/ir"
)

// validProxy is a small correct proxy each error case breaks in one way.
func validProxy() *ir.Proxy {
	return &ir.Proxy{
		ID: "mesh/test/virtualNode/a",
		Listeners: []ir.Listener{{
			Name: "lds_ingress_0.0.0.0_15000", Address: "0.0.0.0", Port: 15000, Direction: ir.Inbound,
			FilterChains: []ir.FilterChain{{
				Name:  "http",
				Match: ir.ChainMatch{DestinationPort: 8080},
				HTTP:  &ir.HTTPManager{StatPrefix: "ingress", RouteConfig: "rds", Protocol: ir.HTTP},
			}},
		}},
		RouteConfigs: []ir.RouteConfig{{
			Name: "rds",
			VirtualHosts: []ir.VirtualHost{{
				Name: "a", Domains: []string{"*"},
				Routes: []ir.Route{{
					Name:   "r",
					Match:  ir.RouteMatch{Prefix: "/"},
					Action: ir.RouteAction{Clusters: []ir.WeightedCluster{{Name: "app", Weight: 1}}},
				}},
			}},
		}},
		Clusters: []ir.Cluster{{
			Name: "app", Discovery: ir.Static, ConnectTimeout: ir.Duration(time.Second),
			Endpoints: []ir.Endpoint{{Address: "127.0.0.1", Port: 8080}},
		}},
	}
}

func TestTranslateValidProxy(t *testing.T) {
	if _, err := Translate(validProxy()); err != nil {
		t.Fatal(err)
	}
}

func TestTranslateErrors(t *testing.T) {
	str := func(s string) *string { return &s }
	tests := []struct {
		name   string
		mutate func(p *ir.Proxy)
		want   string
	}{
		{"nil proxy", nil, "nil proxy"},
		{"missing route config", func(p *ir.Proxy) { p.Listeners[0].FilterChains[0].HTTP.RouteConfig = "nope" },
			`route config "nope" does not exist`},
		{"unused route config", func(p *ir.Proxy) {
			p.RouteConfigs = append(p.RouteConfigs, ir.RouteConfig{Name: "orphan"})
		}, `route config "orphan": not used by any listener`},
		{"missing route cluster", func(p *ir.Proxy) {
			p.RouteConfigs[0].VirtualHosts[0].Routes[0].Action.Clusters[0].Name = "nope"
		}, `cluster "nope" does not exist`},
		{"missing tcp cluster", func(p *ir.Proxy) {
			p.Listeners[0].FilterChains[0].HTTP = nil
			p.Listeners[0].FilterChains[0].TCP = &ir.TCPProxy{StatPrefix: "t", Clusters: []ir.WeightedCluster{{Name: "nope", Weight: 1}}}
			p.RouteConfigs = nil
		}, `cluster "nope" does not exist`},
		{"duplicate cluster", func(p *ir.Proxy) { p.Clusters = append(p.Clusters, p.Clusters[0]) }, `duplicate cluster "app"`},
		{"duplicate chain match", func(p *ir.Proxy) {
			c := p.Listeners[0].FilterChains[0]
			c.Name = "http2"
			p.Listeners[0].FilterChains = append(p.Listeners[0].FilterChains, c)
		}, "have the same match"},
		{"duplicate domain", func(p *ir.Proxy) {
			vh := p.RouteConfigs[0].VirtualHosts[0]
			vh.Name = "b"
			p.RouteConfigs[0].VirtualHosts = append(p.RouteConfigs[0].VirtualHosts, vh)
		}, `domain "*" in virtual hosts "a" and "b"`},
		{"proto rule (empty stat prefix)", func(p *ir.Proxy) { p.Listeners[0].FilterChains[0].HTTP.StatPrefix = "" },
			"StatPrefix"},
		{"static hostname", func(p *ir.Proxy) { p.Clusters[0].Endpoints[0].Address = "app.local" }, "is not an IP address"},
		{"logical dns two hosts", func(p *ir.Proxy) {
			p.Clusters[0].Discovery = ir.LogicalDNS
			p.Clusters[0].Endpoints = append(p.Clusters[0].Endpoints, ir.Endpoint{Address: "b.local", Port: 1})
		}, "logical dns needs exactly one endpoint"},
		{"unknown discovery", func(p *ir.Proxy) { p.Clusters[0].Discovery = "magic" }, `unknown discovery "magic"`},
		{"original dst with endpoints", func(p *ir.Proxy) { p.Clusters[0].Discovery = ir.OriginalDst }, "takes no endpoints"},
		{"grpc health check on http/1", func(p *ir.Proxy) {
			p.Clusters[0].HealthChecks = []ir.HealthCheck{{Protocol: ir.GRPC, Interval: ir.Duration(time.Second),
				Timeout: ir.Duration(time.Second), HealthyThreshold: 1, UnhealthyThreshold: 1}}
		}, "grpc health check needs an http2 or grpc cluster"},
		{"two path matchers", func(p *ir.Proxy) { p.RouteConfigs[0].VirtualHosts[0].Routes[0].Match.Path = "/x" },
			"exactly one of prefix, path and regex"},
		{"two header matchers", func(p *ir.Proxy) {
			p.RouteConfigs[0].VirtualHosts[0].Routes[0].Match.Headers = []ir.HeaderMatch{{Name: "h", Exact: str("a"), Prefix: str("b")}}
		}, "more than one value matcher"},
		{"prefix and path rewrite", func(p *ir.Proxy) {
			a := &p.RouteConfigs[0].VirtualHosts[0].Routes[0].Action
			a.PrefixRewrite, a.PathRewrite = "/", "/x"
		}, "both prefix and path rewrite"},
		{"sans without trust", func(p *ir.Proxy) {
			p.Clusters[0].TLS = &ir.UpstreamTLS{SANs: []string{"a"}}
		}, "need a trust bundle"},
		{"cert with sds and file", func(p *ir.Proxy) {
			p.Listeners[0].FilterChains[0].TLS = &ir.DownstreamTLS{Certificate: ir.CertSource{SDSSecret: "s", CertChainFile: "/c"}}
		}, "both sds secret and files"},
		{"duplicate json log key", func(p *ir.Proxy) {
			p.Listeners[0].FilterChains[0].HTTP.AccessLogs = []ir.AccessLog{{Path: "/dev/stdout",
				JSON: []ir.KeyValue{{Key: "a", Value: "1"}, {Key: "a", Value: "2"}}}}
		}, `duplicate key "a"`},
		{"http and tcp on one chain", func(p *ir.Proxy) {
			p.Listeners[0].FilterChains[0].TCP = &ir.TCPProxy{StatPrefix: "t", Clusters: []ir.WeightedCluster{{Name: "app", Weight: 1}}}
		}, "both http and tcp"},
		{"tcp protocol on http manager", func(p *ir.Proxy) { p.Listeners[0].FilterChains[0].HTTP.Protocol = ir.TCP },
			"not an HTTP protocol"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var p *ir.Proxy
			if tc.mutate != nil {
				p = validProxy()
				tc.mutate(p)
			}
			_, err := Translate(p)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Translate error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

// TestDNSHostnameAsGiven: DNS cluster hosts carry the spec's hostname
// byte for byte, so names from /etc/hosts resolve; a root dot the user
// wrote stays.
func TestDNSHostnameAsGiven(t *testing.T) {
	for _, host := range []string{"colorteller.local", "app.ns.svc.cluster.local.", "localhost", "10.0.0.1", "fd00::1"} {
		cla := loadAssignment("c", []ir.Endpoint{{Address: host, Port: 80}})
		got := cla.GetEndpoints()[0].GetLbEndpoints()[0].GetEndpoint().GetAddress().GetSocketAddress().GetAddress()
		if got != host {
			t.Errorf("hostname %q went out as %q", host, got)
		}
	}
}
