package telemetry

import (
	"bytes"
	"testing"
)

// wantedRef is wanted as first written (the last name element, then a
// prefix): wanted must decide as it does.
func wantedRef(name []byte) bool {
	dot := bytes.LastIndexByte(name, '.')
	if dot < 0 {
		return false
	}
	switch string(name[dot+1:]) {
	case "downstream_rq_completed", "downstream_rq_5xx", "downstream_rq_time", "downstream_cx_active":
		return bytes.HasPrefix(name, []byte(inboundPrefix))
	case "upstream_rq_completed", "upstream_rq_5xx", "upstream_rq_time":
		return bytes.HasPrefix(name, []byte(clusterPrefix)) || bytes.HasPrefix(name, []byte(vhostPrefix))
	case "upstream_cx_active":
		return bytes.HasPrefix(name, []byte(clusterPrefix))
	case "uptime":
		return string(name) == uptimeStat
	}
	return false
}

// TestWanted checks wanted against wantedRef on every name a sidecar
// sends and on near misses, and that it keeps every stat classify reads.
func TestWanted(t *testing.T) {
	names := []string{"", "e", "time", "uptime", ".uptime", "server.uptime", "xserver.uptime", "server.uptime2",
		"http.ingress.downstream_rq_completed", "http.ingress.xdownstream_rq_completed", "http.ingressdownstream_rq_completed",
		"http.ingress.upstream_rq_completed", "http.egress.downstream_rq_completed", "http.ingress.http.80.downstream_cx_active",
		"cluster.cds_egress_m_b_http_80.upstream_rq_5xx", "cluster.cds_egress_m_b_http_80.downstream_rq_5xx",
		"cluster.cds_egress_m_b_http_80.upstream_cx_active", "vhost.s.vcluster.s.upstream_cx_active",
		"vhost.s.vcluster.s.upstream_rq_time", "vhost.upstream_rq_time", "cluster.cds_egress_upstream_rq_time",
		"cluster.cds_ingress_m_a_http_80.upstream_rq_time", "cluster.cds_egress_m_b_http_80.upstream_rq_pending_active",
		"http.ingress.downstream_rq_active", "http.ingress.downstream_cx_5xx", "cluster.cds_egress_m_b_http_80.upstream_rq_completed.",
		"upstream_rq_completed", ".upstream_rq_completed", "cluster.cds_egress_.upstream_rq_completed"}
	for _, f := range envoyFlush(3) {
		names = append(names, f.GetName())
	}
	for _, f := range sidecarFlush(3) {
		names = append(names, f.GetName())
	}
	kept := 0
	for _, n := range names {
		got := wanted([]byte(n))
		if got != wantedRef([]byte(n)) {
			t.Errorf("wanted(%q) = %v, reference %v", n, got, !got)
		}
		if _, _, m := classify(n, "m"); m != mNone && !got {
			t.Errorf("wanted(%q) = false, but classify reads it", n)
		}
		if got {
			kept++
		}
	}
	if kept < 20 {
		t.Errorf("only %d names wanted: the table lost its wanted names", kept)
	}
}
