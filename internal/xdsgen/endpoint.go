package xdsgen

import (
	"net/netip"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"

	"github.com/trellis-mesh/trellis/internal/ir"
)

// loadAssignment lists a cluster's hosts in one locality (the IR has no
// localities). It is the inline load_assignment of static and DNS clusters
// and the EDS resource of EDS clusters, named after the cluster either way.
func loadAssignment(cluster string, eps []ir.Endpoint, dns bool) *endpointv3.ClusterLoadAssignment {
	out := &endpointv3.ClusterLoadAssignment{ClusterName: cluster}
	if len(eps) == 0 {
		return out
	}
	loc := &endpointv3.LocalityLbEndpoints{}
	for _, e := range eps {
		addr := e.Address
		if dns {
			addr = absoluteDNSName(addr)
		}
		lb := &endpointv3.LbEndpoint{HostIdentifier: &endpointv3.LbEndpoint_Endpoint{
			Endpoint: &endpointv3.Endpoint{Address: socketAddress(addr, e.Port)},
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

// absoluteDNSName appends the root dot to a DNS hostname, as App Mesh did
// (its clusters showed "svc.ns.svc.cluster.local."). The dot makes the name
// absolute, so the resolver skips resolv.conf search domains: no ndots:5
// query fan-out on Kubernetes, and the name cannot silently resolve to
// something under a search domain. Consequence, shared with App Mesh:
// short names that only resolve through a search domain ("backend.ns")
// must be written fully qualified. IP literals and names already ending
// in a dot are left alone.
func absoluteDNSName(host string) string {
	if host == "" || strings.HasSuffix(host, ".") {
		return host
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return host
	}
	return host + "."
}
