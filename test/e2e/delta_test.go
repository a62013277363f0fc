package e2e

import (
	"fmt"
	"testing"
	"time"
)

// TestDeltaXDS runs the color walkthrough with an Envoy on incremental xDS
// (DELTA_GRPC): its first configuration, a live route change, a backend
// added (a virtual host arrives) and one removed (its virtual host, and the
// cluster nothing routes to any more, are withdrawn as delta removals),
// with every response ACKed and none rejected.
func TestDeltaXDS(t *testing.T) {
	m := setupColorXDS(t, 100, 0, true)
	const node = "mesh/color/virtualNode/front"
	eventually(t, 10*time.Second, m.c.expectBody(m.frontAddr, "color.local", "/", nil, "blue"))
	if st := xdsStatus(t, m.cp, node); len(st) != 1 || st[0].Stream != "delta" {
		t.Fatalf("front's streams %+v, want one delta stream", st)
	}

	m.cp.updateRoute(t, "color", "color-router", "color-route", prefixRoute("/", weighted(wt("blue", 0), wt("green", 100))))
	eventually(t, 10*time.Second, m.c.expectBody(m.frontAddr, "color.local", "/", nil, "green"))

	m.cp.serviceByNode(t, "color", "blue.local", "blue")
	update := func(backends ...string) {
		t.Helper()
		if _, err := m.cp.client.UpdateVirtualNode(m.cp.ctx, updateNode("color", "front", nodeSpec("", 0, "", backends...))); err != nil {
			t.Fatal(err)
		}
	}
	update("color.local", "blue.local")
	eventually(t, 10*time.Second, m.c.expectBody(m.frontAddr, "blue.local", "/", nil, "blue"))

	// Without color.local nothing routes to green: its cluster goes.
	const greenStat = "cluster.cds_egress_color_green_http_9080.upstream_cx_total"
	if !m.front.hasStat(t, greenStat) {
		t.Fatalf("front has no %s before the removal", greenStat)
	}
	update("blue.local")
	eventually(t, 10*time.Second, func() error {
		if code, body, err := m.c.get(m.frontAddr, "color.local", "/", nil); err != nil || code != 404 {
			return fmt.Errorf("color.local after its removal: %d %q %v, want 404", code, body, err)
		}
		if m.front.hasStat(t, greenStat) {
			return fmt.Errorf("cluster of green still present")
		}
		return nil
	})
	eventually(t, 10*time.Second, m.c.expectBody(m.frontAddr, "blue.local", "/", nil, "blue"))
	expectAllAcked(t, m.cp, node)
	for _, s := range []string{"cluster_manager.cds.update_rejected", "listener_manager.lds.update_rejected"} {
		if n := m.front.stat(t, s); n != 0 {
			t.Errorf("%s = %d", s, n)
		}
	}
	if n := m.front.stat(t, "cluster_manager.cds.update_success"); n < 2 {
		t.Errorf("cluster_manager.cds.update_success = %d, want the first config and the removal", n)
	}
}
