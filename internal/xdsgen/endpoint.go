package xdsgen

import (
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"

	"github.com/trellis-mesh/trellis/internal/ir"
)

// loadAssignment lists a cluster's hosts in one locality (the IR has no
// localities). It is the inline load_assignment of static and DNS clusters
// and the EDS resource of EDS clusters, named after the cluster either way.
// A DNS hostname goes out exactly as the spec gives it: no root dot is
// added, because a name with one ("colorteller.local.") is not found in
// /etc/hosts (Docker extra_hosts, ECS extraHosts). A spec that wants an
// absolute name, to skip resolv.conf search domains, writes the dot.
func loadAssignment(cluster string, eps []ir.Endpoint) *endpointv3.ClusterLoadAssignment {
	out := &endpointv3.ClusterLoadAssignment{ClusterName: cluster}
	if len(eps) == 0 {
		return out
	}
	loc := &endpointv3.LocalityLbEndpoints{}
	for _, e := range eps {
		lb := &endpointv3.LbEndpoint{HostIdentifier: &endpointv3.LbEndpoint_Endpoint{
			Endpoint: &endpointv3.Endpoint{Address: socketAddress(e.Address, e.Port)},
		}}
		if e.Unhealthy {
			// A registry instance reported unhealthy: keep it known (stats,
			// config dumps) but out of load balancing.
			lb.HealthStatus = corev3.HealthStatus_UNHEALTHY
		}
		loc.LbEndpoints = append(loc.LbEndpoints, lb)
	}
	out.Endpoints = []*endpointv3.LocalityLbEndpoints{loc}
	return out
}
