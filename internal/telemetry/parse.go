package telemetry

import (
	"strings"
)

// Stat names Trellis reads (emit_tags_as_labels off: the full Envoy stat
// name is the family name). Inbound figures come from the ingress HTTP
// connection managers (http.ingress[.<proto>.<port>].*), which see what
// callers see, including replies Envoy makes itself; edge figures come from
// the caller's egress clusters, cluster.cds_egress_<mesh>_<node>_<proto>_<port>.*
// (irgen's EgressClusterName); per-service figures from the catch-all
// virtual cluster of the caller's egress virtual host of each virtual
// service, vhost.<service>.vcluster.<service>.* (ir.VirtualHost.StatsName).
const (
	inboundPrefix = "http.ingress"
	clusterPrefix = "cluster.cds_egress_"
	vhostPrefix   = "vhost."
	vclusterInfix = ".vcluster."
	allowAllName  = "mesh-allow-all"
)

// serviceKind is Key.Kind of a virtual service's window (Name is the
// service, Dest empty), summed over its callers' proxies.
const serviceKind = "virtualService"

// target is which window a stat feeds.
type target uint8

const (
	tInbound target = iota // the proxy's own inbound window
	tEdge                  // the edge to a callee virtual node
	tService               // a virtual service the proxy calls
)

// metric is what a stat feeds.
type metric uint8

const (
	mNone metric = iota
	mRequests
	mErrors
	mLatency
	mActive
)

// inboundMetric and edgeMetric map the last stat-name element to a metric.
func inboundMetric(stat string) metric {
	switch stat {
	case "downstream_rq_completed":
		return mRequests
	case "downstream_rq_5xx":
		return mErrors
	case "downstream_rq_time":
		return mLatency
	case "downstream_cx_active":
		return mActive
	}
	return mNone
}

func edgeMetric(stat string) metric {
	switch stat {
	case "upstream_rq_completed":
		return mRequests
	case "upstream_rq_5xx":
		return mErrors
	case "upstream_rq_time":
		return mLatency
	case "upstream_cx_active":
		return mActive
	}
	return mNone
}

// classify says which window a stat feeds (tInbound, tEdge to the callee
// virtual node dest, or tService for the virtual service dest) and as
// what. mesh is the proxy's mesh, which its egress cluster names embed.
func classify(name, mesh string) (tg target, dest string, m metric) {
	dot := strings.LastIndexByte(name, '.')
	if dot < 0 {
		return tInbound, "", mNone
	}
	head, stat := name[:dot], name[dot+1:]
	if strings.HasPrefix(head, vhostPrefix) {
		if m = edgeMetric(stat); m == mNone || m == mActive {
			return tInbound, "", mNone
		}
		if dest = serviceOf(head[len(vhostPrefix):]); dest == "" {
			return tInbound, "", mNone
		}
		return tService, dest, m
	}
	dest, m = classifyProxy(head, stat, mesh)
	if dest != "" {
		return tEdge, dest, m
	}
	return tInbound, "", m
}

// serviceOf returns <service> of "<service>.vcluster.<service>" (names
// may hold dots, so the two halves are compared), else "".
func serviceOf(s string) string {
	n := len(s) - len(vclusterInfix)
	if n <= 0 || n%2 != 0 {
		return ""
	}
	half := n / 2
	if s[half:half+len(vclusterInfix)] != vclusterInfix || s[:half] != s[half+len(vclusterInfix):] {
		return ""
	}
	return s[:half]
}

// classifyProxy classifies the stats of the proxy's own listeners and
// egress clusters (see classify).
func classifyProxy(head, stat, mesh string) (dest string, m metric) {
	switch {
	case strings.HasPrefix(head, inboundPrefix):
		// "http.ingress" or "http.ingress.<proto>.<port>" (several listeners).
		if rest := head[len(inboundPrefix):]; rest != "" && !protoPort(rest) {
			return "", mNone
		}
		return "", inboundMetric(stat)
	case strings.HasPrefix(head, clusterPrefix):
		m = edgeMetric(stat)
		cluster := head[len(clusterPrefix):]
		if m == mNone || strings.IndexByte(cluster, '.') >= 0 {
			return "", mNone
		}
		dest = calleeOf(cluster, mesh)
		if dest == "" {
			return "", mNone
		}
		return dest, m
	}
	return "", mNone
}

// calleeOf extracts <node> from <mesh>_<node>_<proto>_<port>, or returns
// mesh-allow-all for the pass-through cluster; "" when it is neither.
func calleeOf(cluster, mesh string) string {
	rest, ok := strings.CutPrefix(cluster, mesh+"_")
	if !ok {
		return ""
	}
	if rest == allowAllName {
		return allowAllName
	}
	i := strings.LastIndexByte(rest, '_')
	if i <= 0 {
		return ""
	}
	j := strings.LastIndexByte(rest[:i], '_')
	if j <= 0 {
		return ""
	}
	return rest[:j]
}

// protoPort reports whether s is ".<proto>.<port>".
func protoPort(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) != 3 || parts[0] != "" || parts[1] == "" || parts[2] == "" {
		return false
	}
	for _, r := range parts[2] {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
