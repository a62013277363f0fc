package xdsgen

import (
	"fmt"

	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	rbacconfigv3 "github.com/envoyproxy/go-control-plane/envoy/config/rbac/v3"
	netrbacv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/rbac/v3"
	tcpproxyv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/tcp_proxy/v3"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/trellis-mesh/trellis/internal/ir"
)

// Extension names of the TCP chain.
const (
	tcpProxyName = "envoy.filters.network.tcp_proxy"
	netRBACName  = "envoy.filters.network.rbac"
)

// tcpFilters returns the network filters of a TCP chain: a tcp_proxy, led
// by a deny-all RBAC filter when every weight is zero (see tcpTargets).
func tcpFilters(t *ir.TCPProxy) ([]*listenerv3.Filter, error) {
	if len(t.Clusters) == 0 {
		return nil, fmt.Errorf("tcp proxy %q: no clusters", t.StatPrefix)
	}
	targets, refuse := tcpTargets(t.Clusters)
	p := &tcpproxyv3.TcpProxy{StatPrefix: t.StatPrefix}
	if len(targets) == 1 {
		p.ClusterSpecifier = &tcpproxyv3.TcpProxy_Cluster{Cluster: targets[0].Name}
	} else {
		w := &tcpproxyv3.TcpProxy_WeightedCluster{}
		for _, c := range targets {
			w.Clusters = append(w.Clusters, &tcpproxyv3.TcpProxy_WeightedCluster_ClusterWeight{
				Name: c.Name, Weight: c.Weight,
			})
		}
		p.ClusterSpecifier = &tcpproxyv3.TcpProxy_WeightedClusters{WeightedClusters: w}
	}
	if t.IdleTimeout != nil {
		p.IdleTimeout = durationpb.New(t.IdleTimeout.Std())
	}
	var err error
	if p.AccessLog, err = accessLogs(t.AccessLogs); err != nil {
		return nil, fmt.Errorf("tcp proxy %q: %w", t.StatPrefix, err)
	}
	proxy, err := typed(p)
	if err != nil {
		return nil, err
	}
	out := []*listenerv3.Filter{{
		Name: tcpProxyName, ConfigType: &listenerv3.Filter_TypedConfig{TypedConfig: proxy},
	}}
	if refuse {
		deny, err := denyAllFilter(t.StatPrefix)
		if err != nil {
			return nil, err
		}
		out = append([]*listenerv3.Filter{deny}, out...)
	}
	return out, nil
}

// tcpTargets drops zero-weight clusters, because tcp_proxy requires every
// weight ≥ 1 (HTTP routes keep them, see routeAction). When all weights
// are zero the App Mesh meaning is "send nothing anywhere", so it reports
// refuse and keeps the first cluster only as the tcp_proxy's mandatory,
// never reached, target.
func tcpTargets(cs []ir.WeightedCluster) (targets []ir.WeightedCluster, refuse bool) {
	if len(cs) == 1 {
		return cs, cs[0].Weight == 0
	}
	for _, c := range cs {
		if c.Weight > 0 {
			targets = append(targets, c)
		}
	}
	if len(targets) == 0 {
		return cs[:1], true
	}
	return targets, false
}

// denyAllFilter closes every connection: an RBAC ALLOW policy set with no
// policies matches nobody. Its stats (<prefix>.rbac.denied) make the
// refusals visible, unlike dropping the chain, which would let the
// connection fall through to a default (allow-all) chain.
func denyAllFilter(statPrefix string) (*listenerv3.Filter, error) {
	a, err := typed(&netrbacv3.RBAC{
		StatPrefix: statPrefix + ".zero_weights",
		Rules:      &rbacconfigv3.RBAC{Action: rbacconfigv3.RBAC_ALLOW},
	})
	if err != nil {
		return nil, err
	}
	return &listenerv3.Filter{Name: netRBACName, ConfigType: &listenerv3.Filter_TypedConfig{TypedConfig: a}}, nil
}
