//go:build linux

package e2e

import (
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/appmesh/types"

	"github.com/trellis-mesh/trellis/internal/interception"
)

// TestNetnsGatewayWalkthrough is App Mesh's ingress-gateway color
// walkthrough with real pods: a gateway pod G runs Envoy for virtual
// gateway "ingress" (its listener 8088 and its egress listener 15001 bound
// directly, no iptables, Envoy as root); blue and green are pods like B in
// TestNetnsInterception (app on 127.0.0.1:9080 only, App Mesh iptables,
// Envoy as UID 1337). A client in the host namespace calls
// http://<G>:8088/color/tell; the gateway route sends it to color.local,
// whose router splits 50/50 across blue and green.
//
//	host netns: trellis (xDS on 10.N.1.1), client
//	  │ 10.N.1.1 ── 10.N.1.2 pod G     10.N.2.1 ── 10.N.2.2 pod blue    10.N.3.1 ── 10.N.3.2 pod green
//	pod G 10.N.4.1 ─── 10.N.4.2 pod blue (its DNS hostname)
//	pod G 10.N.5.1 ─── 10.N.5.2 pod green (its DNS hostname)
//
// Subnets use N in 150..199, apart from TestNetnsInterception's 200..249.
func TestNetnsGatewayWalkthrough(t *testing.T) {
	envoyELF := netnsPrereqs(t)
	sfx := netnsSuffix()
	n := 150 + rand.IntN(50)
	ip := func(subnet, host int) string { return fmt.Sprintf("10.%d.%d.%d", n, subnet, host) }
	nsG, nsBlue, nsGreen := "trellis-e2e-"+sfx+"-g", "trellis-e2e-"+sfx+"-blue", "trellis-e2e-"+sfx+"-green"
	hostG, podGHost := ip(1, 1), ip(1, 2)
	hostBlue, podBlueHost := ip(2, 1), ip(2, 2)
	hostGreen, podGreenHost := ip(3, 1), ip(3, 2)
	gBlue, podBlue := ip(4, 1), ip(4, 2)
	gGreen, podGreen := ip(5, 1), ip(5, 2)

	for _, ns := range []string{nsG, nsBlue, nsGreen} {
		addNetns(t, ns)
	}
	linkToHost(t, nsG, "tgg"+sfx, hostG, podGHost)
	linkToHost(t, nsBlue, "tgb"+sfx, hostBlue, podBlueHost)
	linkToHost(t, nsGreen, "tgn"+sfx, hostGreen, podGreenHost)
	linkPods(t, nsG, "eth1", gBlue, nsBlue, "eth1", podBlue)
	linkPods(t, nsG, "eth2", gGreen, nsGreen, "eth1", podGreen)
	// blue and green reach the xDS address (on G's host link) through
	// their own host links.
	ipCmd(t, "-n", nsBlue, "route", "add", hostG+"/32", "via", hostBlue)
	ipCmd(t, "-n", nsGreen, "route", "add", hostG+"/32", "via", hostGreen)

	c := startTrellisAt(t, net.JoinHostPort(hostG, "0"))
	const mesh = "color"
	c.mesh(t, mesh, "")
	c.node(t, mesh, "blue", nodeSpec(podBlue, colorPort, types.PortProtocolHttp))
	c.node(t, mesh, "green", nodeSpec(podGreen, colorPort, types.PortProtocolHttp))
	c.router(t, mesh, "color-router", colorPort, types.PortProtocolHttp)
	c.route(t, mesh, "color-router", "color-route", prefixRoute("/", weighted(wt("blue", 50), wt("green", 50))))
	c.serviceByRouter(t, mesh, "color.local", "color-router")
	c.gateway(t, mesh, "ingress", gatewayPort, types.VirtualGatewayPortProtocolHttp)
	c.gatewayRoute(t, mesh, "ingress", "color", httpGatewayRoute(
		&types.HttpGatewayRouteMatch{Prefix: aws.String("/color")}, "color.local", nil))

	// The color apps answer only on their pods' loopback.
	appAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(colorPort))
	blue := startAppInNetns(t, nsBlue, "blue", appAddr)
	green := startAppInNetns(t, nsGreen, "green", appAddr)
	cfg := interception.Config{IgnoreUIDs: []int{envoyUID}, AppPorts: []int{colorPort}}
	for _, ns := range []string{nsBlue, nsGreen} {
		applyInterception(t, ns, cfg)
		want := fmt.Sprintf("-A APPMESH_INGRESS -p tcp -m multiport --dports %d -j REDIRECT --to-ports 15000", colorPort)
		if s := natRules(t, ns); !containsLine(s, want) {
			t.Fatalf("%s nat table lacks the ingress redirect:\n%s", ns, s)
		}
	}

	xdsHost, xdsPort, _ := net.SplitHostPort(c.srv.XDSAddr())
	envoyBlue := startEnvoyInNetns(t, envoyELF, nsBlue, "mesh/color/virtualNode/blue", podBlueHost, xdsHost, xdsPort)
	envoyGreen := startEnvoyInNetns(t, envoyELF, nsGreen, "mesh/color/virtualNode/green", podGreenHost, xdsHost, xdsPort)
	gw := startEnvoyInNetnsAs(t, envoyELF, nsG, "mesh/color/virtualGateway/ingress", podGHost, xdsHost, xdsPort, 0)

	cl := newClient()
	addr := net.JoinHostPort(podGHost, strconv.Itoa(gatewayPort))
	eventually(t, 30*time.Second, cl.expectEach(addr, publicHost, "/color/tell", "blue", "green"))
	const total = 1000
	counts := map[string]int{}
	for range total {
		code, body, err := cl.get(addr, publicHost, "/color/tell", nil)
		if err != nil || code != 200 {
			t.Fatalf("GET http://%s/color/tell: %d %q %v", addr, code, body, err)
		}
		counts[body]++
	}
	t.Logf("split over %d requests through gateway pod G: blue %d, green %d", total, counts["blue"], counts["green"])
	if counts["blue"]+counts["green"] != total {
		t.Errorf("unexpected bodies: %v", counts)
	}
	within3Sigma(t, "blue (weight 50)", counts["blue"], total, 0.5)
	within3Sigma(t, "green (weight 50)", counts["green"], total, 0.5)
	expectSeen(t, blue, "/tell", "color.local")
	expectSeen(t, green, "/tell", "color.local")

	// The requests went G's gateway listener → G's egress listener (the
	// self-redirect) → each pod's captured ingress listener → the app.
	for _, s := range []string{
		"http.ingress.downstream_rq_total",
		"cluster.cds_ingress_color_ingress_self_redirect_http_15001.upstream_rq_200",
		"listener.0.0.0.0_15001.downstream_cx_total",
	} {
		if v := gw.stat(t, s); v < 1 {
			t.Errorf("gateway envoy: %s = %d, want >= 1", s, v)
		}
	}
	if v := gw.stat(t, "cluster.cds_ingress_color_ingress_self_redirect_http_15001.upstream_rq_200"); v < total {
		t.Errorf("gateway self-redirect cluster counted %d 200s, want >= %d", v, total)
	}
	for _, p := range []struct {
		name string
		e    *envoyProc
		a    *app
		n    int
	}{{"blue", envoyBlue, blue, counts["blue"]}, {"green", envoyGreen, green, counts["green"]}} {
		if v := p.e.stat(t, "listener.0.0.0.0_15000.downstream_cx_total"); v < 1 {
			t.Errorf("envoy %s: listener.0.0.0.0_15000.downstream_cx_total = %d, want >= 1", p.name, v)
		}
		if v := p.e.stat(t, "http.ingress.downstream_rq_total"); v < p.n {
			t.Errorf("envoy %s: http.ingress.downstream_rq_total = %d, want >= %d", p.name, v, p.n)
		}
		if h := int(p.a.hits.Load()); h < p.n {
			t.Errorf("app %s: %d requests, want >= %d", p.name, h, p.n)
		}
	}
}

// containsLine reports whether s has line as one of its lines.
func containsLine(s, line string) bool {
	for l := range strings.Lines(s) {
		if strings.TrimRight(l, "\n") == line {
			return true
		}
	}
	return false
}
