package irgen

import (
	"cmp"
	"slices"
	"time"

	"github.com/trellis-mesh/trellis/internal/apis/appmesh"
	"github.com/trellis-mesh/trellis/internal/ir"
	"github.com/trellis-mesh/trellis/internal/meshview"
)

// backendCluster returns the name of the caller-side cluster of one target
// listener, adding it on first use: cds_egress_<mesh>_<vn>_<proto>_<port>
// (§3.1). The name carries the target listener, not the virtual service,
// so two backends routing to the same listener share one cluster; its TLS
// then comes from the first backend (by virtual service name) that routed
// there, since a cluster has one transport socket. App Mesh does not say
// what it did when two client policies disagreed on one target.
func (t *translator) backendCluster(target *meshview.VirtualNode, l *appmesh.Listener, policy *appmesh.ClientPolicyTls) string {
	port, proto := uint32(l.PortMapping.Port), l.PortMapping.Protocol
	name := EgressClusterName(t.mesh.Name, target.Name, proto, port)
	if _, ok := t.clusters[name]; ok {
		return name
	}
	c := &ir.Cluster{
		Name:             name,
		ConnectTimeout:   ir.Duration(backendConnectTimeout),
		Protocol:         ir.Protocol(proto),
		CircuitBreakers:  clientCircuitBreakers(),
		OutlierDetection: outlierDetection(l.OutlierDetection),
		HealthChecks:     healthChecks(l.HealthCheck),
		TLS:              t.upstreamTLS(policy, target, l, proto, port),
	}
	t.discover(c, target, port)
	t.addCluster(c)
	return name
}

// discover fills a backend cluster's discovery from the target node's
// serviceDiscovery (§4.1, §4.2): DNS LOADBALANCER → LOGICAL_DNS (one
// connection target), ENDPOINTS → STRICT_DNS (every record), with the
// lookup family from the IP preference; Cloud Map → EDS with the registry's
// instances. The hostname is used as written: App Mesh appended a trailing
// dot, but that would break the short names that Kubernetes users resolve
// through search domains. A node without discovery (it cannot have
// listeners) gets a static cluster without hosts.
func (t *translator) discover(c *ir.Cluster, target *meshview.VirtualNode, port uint32) {
	sd := target.Spec.ServiceDiscovery
	switch {
	case sd != nil && sd.Dns != nil:
		c.Discovery = ir.LogicalDNS
		if cmp.Or(sd.Dns.ResponseType, defaultDNSResponseType) == appmesh.DNSResponseEndpoints {
			c.Discovery = ir.StrictDNS
		}
		c.Endpoints = []ir.Endpoint{{Address: sd.Dns.Hostname, Port: port}}
		c.DNSFamily = dnsFamily(ipPreference(t.mesh, target))
	case sd != nil && sd.AwsCloudMap != nil:
		c.Discovery = ir.EDS
		c.Endpoints = t.lookup(sd.AwsCloudMap, port)
	default:
		c.Discovery = ir.Static
	}
}

// lookup asks the registry for a Cloud Map service's instances with every
// attribute of the node, giving port-less instances the listener port,
// sorted so the output is stable whatever order the registry keeps.
func (t *translator) lookup(cm *appmesh.AwsCloudMapServiceDiscovery, port uint32) []ir.Endpoint {
	t.deps.usedRegistry()
	if t.eps == nil {
		return nil
	}
	attrs := make(map[string]string, len(cm.Attributes))
	for _, a := range cm.Attributes {
		attrs[a.Key] = a.Value
	}
	eps := slices.Clone(t.eps.Lookup(cm.NamespaceName, cm.ServiceName, attrs))
	for i := range eps {
		if eps[i].Port == 0 {
			eps[i].Port = port
		}
	}
	slices.SortFunc(eps, func(a, b ir.Endpoint) int {
		return cmp.Or(cmp.Compare(a.Address, b.Address), cmp.Compare(a.Port, b.Port))
	})
	return eps
}

// ipPreference is a node's effective IP preference: its own discovery's,
// else the mesh's (§4.3).
func ipPreference(mesh *meshview.Mesh, vn *meshview.VirtualNode) string {
	if sd := vn.Spec.ServiceDiscovery; sd != nil {
		if sd.Dns != nil && sd.Dns.IpPreference != "" {
			return sd.Dns.IpPreference
		}
		if sd.AwsCloudMap != nil && sd.AwsCloudMap.IpPreference != "" {
			return sd.AwsCloudMap.IpPreference
		}
	}
	if mesh.Spec != nil && mesh.Spec.ServiceDiscovery != nil {
		return mesh.Spec.ServiceDiscovery.IpPreference
	}
	return ""
}

// dnsFamily maps an IP preference to a DNS lookup family (§4.3 table).
func dnsFamily(pref string) ir.DNSFamily {
	switch pref {
	case "IPv4_PREFERRED":
		return ir.DNSV4Preferred
	case "IPv4_ONLY":
		return ir.DNSV4Only
	case "IPv6_ONLY":
		return ir.DNSV6Only
	}
	return ir.DNSAuto // none and IPv6_PREFERRED: AUTO tries v6 first
}

// prefersIPv6 says whether the local app is reached on ::1 (§4.3).
func prefersIPv6(pref string) bool { return pref == "IPv6_PREFERRED" || pref == "IPv6_ONLY" }

// clientCircuitBreakers are App Mesh's client-side thresholds: all
// 2147483647 (§3.11).
func clientCircuitBreakers() *ir.CircuitBreakers {
	return &ir.CircuitBreakers{MaxConnections: maxThreshold, MaxPendingRequests: maxThreshold,
		MaxRequests: maxThreshold, MaxRetries: maxThreshold}
}

// localCircuitBreakers are the local app's thresholds from the listener's
// connection pool (§3.11): tcp maxConnections; http maxConnections and
// maxPendingRequests; http2/grpc maxRequests. Anything unset is unlimited.
func localCircuitBreakers(cp *appmesh.VirtualNodeConnectionPool) *ir.CircuitBreakers {
	cb := clientCircuitBreakers()
	if cp == nil {
		return cb
	}
	switch {
	case cp.Tcp != nil:
		cb.MaxConnections = u32(int64(cp.Tcp.MaxConnections))
	case cp.Http != nil:
		cb.MaxConnections = u32(int64(cp.Http.MaxConnections))
		if cp.Http.MaxPendingRequests != nil {
			cb.MaxPendingRequests = u32(int64(*cp.Http.MaxPendingRequests))
		}
	case cp.Http2 != nil:
		cb.MaxRequests = u32(int64(cp.Http2.MaxRequests))
	case cp.Grpc != nil:
		cb.MaxRequests = u32(int64(cp.Grpc.MaxRequests))
	}
	return cb
}

// outlierDetection is enforced by callers on the target's cluster (§3.10).
// Validation makes every member present.
func outlierDetection(o *appmesh.OutlierDetection) *ir.OutlierDetection {
	if o == nil {
		return nil
	}
	od := &ir.OutlierDetection{}
	if o.MaxServerErrors != nil {
		od.Consecutive5xx = u32(*o.MaxServerErrors)
	}
	if d, ok := duration(o.Interval); ok {
		od.Interval = ir.Duration(d)
	}
	if d, ok := duration(o.BaseEjectionDuration); ok {
		od.BaseEjectionTime = ir.Duration(d)
	}
	if o.MaxEjectionPercent != nil {
		od.MaxEjectionPercent = u32(int64(*o.MaxEjectionPercent))
	}
	return od
}

// healthChecks are the target listener's active checks, run by every
// caller on its egress cluster (§3.9). The path only means something for
// http/http2; grpc uses the gRPC health protocol.
func healthChecks(h *appmesh.HealthCheckPolicy) []ir.HealthCheck {
	if h == nil {
		return nil
	}
	hc := ir.HealthCheck{
		Protocol:           ir.Protocol(h.Protocol),
		Interval:           ir.Duration(time.Duration(h.IntervalMillis) * time.Millisecond),
		Timeout:            ir.Duration(time.Duration(h.TimeoutMillis) * time.Millisecond),
		HealthyThreshold:   u32(int64(h.HealthyThreshold)),
		UnhealthyThreshold: u32(int64(h.UnhealthyThreshold)),
	}
	if h.Path != nil && (h.Protocol == appmesh.ProtocolHTTP || h.Protocol == appmesh.ProtocolHTTP2) {
		hc.Path = *h.Path
	}
	// healthCheck.port must equal the listener port (validation), which is
	// the port traffic goes to anyway; leaving Port unset checks each
	// host's own port, which stays right for registry instances whose port
	// differs from the listener's.
	return []ir.HealthCheck{hc}
}

// targetListener picks the listener a weighted target reaches: the given
// port, else the first listener (in spec order) of the route's protocol,
// else the first one (validation requires a port when the node has several
// listeners, so this is normally the only listener).
func targetListener(vn *meshview.VirtualNode, port *int32, proto string) *appmesh.Listener {
	var ls []*appmesh.Listener
	for i := range vn.Spec.Listeners {
		if vn.Spec.Listeners[i].PortMapping != nil {
			ls = append(ls, &vn.Spec.Listeners[i])
		}
	}
	if port != nil {
		for _, l := range ls {
			if l.PortMapping.Port == *port {
				return l
			}
		}
		return nil
	}
	for _, l := range ls {
		if l.PortMapping.Protocol == proto {
			return l
		}
	}
	if len(ls) > 0 {
		return ls[0]
	}
	return nil
}
