package telemetry

import (
	"strings"
)

// Stat names Trellis reads (emit_tags_as_labels off: the full Envoy stat
// name is the family name). Inbound figures come from the ingress HTTP
// connection managers (http.ingress[.<proto>.<port>].*), which see what
// callers see, including replies Envoy makes itself; edge figures come from
// the caller's egress clusters, cluster.cds_egress_<mesh>_<node>_<proto>_<port>.*
// (irgen's EgressClusterName).
const (
	inboundPrefix = "http.ingress"
	clusterPrefix = "cluster.cds_egress_"
	allowAllName  = "mesh-allow-all"
)

// metric is what a stat feeds.
type metric int

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

// classify says which window a stat feeds (dest is "" for the proxy's own
// inbound window, else the callee virtual node of an edge) and as what.
// mesh is the proxy's mesh, which its egress cluster names embed.
func classify(name, mesh string) (dest string, m metric) {
	dot := strings.LastIndexByte(name, '.')
	if dot < 0 {
		return "", mNone
	}
	head, stat := name[:dot], name[dot+1:]
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
