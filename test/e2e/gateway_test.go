package e2e

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/appmesh/types"
)

const gatewayPort = 8088

// gatewayMesh is the App Mesh ingress-gateway color walkthrough on
// loopback: a virtual gateway in front of color.local, whose router splits
// 50/50 across blue and green, plus green.local and blue.local provided
// directly by their nodes. The apps have no sidecars; the gateway's Envoy
// calls them itself.
type gatewayMesh struct {
	cp          *cp
	gw          *envoyProc
	addr        string
	blue, green *app
	c           *client
}

// The Host clients send to the gateway, as if it were behind a load
// balancer with a public name.
const publicHost = "www.example.com"

func setupGateway(t *testing.T) *gatewayMesh {
	t.Helper()
	c := startTrellis(t)
	m := &gatewayMesh{cp: c, c: newClient()}
	blueIP, greenIP, gwIP := loopbackIP(), loopbackIP(), loopbackIP()
	m.blue = startApp(t, "blue", blueIP, colorPort)
	m.green = startApp(t, "green", greenIP, colorPort)
	c.mesh(t, "color", "")
	c.node(t, "color", "blue", nodeSpec(blueIP, colorPort, types.PortProtocolHttp))
	c.node(t, "color", "green", nodeSpec(greenIP, colorPort, types.PortProtocolHttp))
	c.router(t, "color", "color-router", colorPort, types.PortProtocolHttp)
	c.route(t, "color", "color-router", "color-route", prefixRoute("/", weighted(wt("blue", 50), wt("green", 50))))
	c.serviceByRouter(t, "color", "color.local", "color-router")
	c.serviceByNode(t, "color", "green.local", "green")
	c.serviceByNode(t, "color", "blue.local", "blue")
	c.gateway(t, "color", "gateway", gatewayPort, types.VirtualGatewayPortProtocolHttp)
	// /color/tell → color.local/tell (default prefix and hostname rewrites).
	c.gatewayRoute(t, "color", "gateway", "color", httpGatewayRoute(
		&types.HttpGatewayRouteMatch{Prefix: aws.String("/color")}, "color.local", nil))
	// The same prefix with x-color: green, at a higher priority → green only.
	byHeader := httpGatewayRoute(&types.HttpGatewayRouteMatch{Prefix: aws.String("/color"), Headers: []types.HttpGatewayRouteHeader{
		{Name: aws.String("x-color"), Match: &types.HeaderMatchMethodMemberExact{Value: "green"}}}}, "green.local", nil)
	byHeader.Priority = aws.Int32(1)
	c.gatewayRoute(t, "color", "gateway", "green-by-header", byHeader)
	// An exact path rewritten to another path (howto-k8s-http-ingress-v2).
	c.gatewayRoute(t, "color", "gateway", "blue-exact", httpGatewayRoute(
		&types.HttpGatewayRouteMatch{Path: &types.HttpPathMatch{Exact: aws.String("/rewrite/path/blue")}}, "blue.local",
		&types.HttpGatewayRouteRewrite{Path: &types.HttpGatewayRoutePathRewrite{Exact: aws.String("/blue")}}))
	m.gw = startEnvoy(t, c, proxyConfig{NodeID: "mesh/color/virtualGateway/gateway", IP: gwIP})
	m.addr = fmt.Sprintf("%s:%d", gwIP, gatewayPort)
	// Every gateway route is live once the last one created answers.
	eventually(t, 10*time.Second, m.c.expectBody(m.addr, publicHost, "/rewrite/path/blue", nil, "blue"))
	return m
}

// seen returns what the app saw of its last request.
func seen(t *testing.T, a *app) http.Header {
	t.Helper()
	h := a.lastH.Load()
	if h == nil {
		t.Fatalf("%s saw no request", a.name)
	}
	return *h
}

// expectSeen checks the path and Host the app saw last, and that the
// gateway's internal target header did not reach it.
func expectSeen(t *testing.T, a *app, path, host string) {
	t.Helper()
	h := seen(t, a)
	if got := h.Get("X-Seen-Path"); got != path {
		t.Errorf("%s saw path %q, want %q", a.name, got, path)
	}
	if got := h.Get("X-Seen-Host"); got != host {
		t.Errorf("%s saw Host %q, want %q", a.name, got, host)
	}
	if v := h.Get("X-Trellis-Virtual-Service"); v != "" {
		t.Errorf("%s saw the gateway's internal header x-trellis-virtual-service: %q", a.name, v)
	}
}

// TestGatewayColorSplit: /color/tell through the gateway reaches the
// router's 50/50 split, arrives as /tell with Host color.local.
func TestGatewayColorSplit(t *testing.T) {
	m := setupGateway(t)
	eventually(t, 10*time.Second, m.c.expectEach(m.addr, publicHost, "/color/tell", "blue", "green"))
	const n = 1000
	counts := map[string]int{}
	for range n {
		code, body, err := m.c.get(m.addr, publicHost, "/color/tell", nil)
		if err != nil || code != 200 {
			t.Fatalf("GET /color/tell: %d %q %v", code, body, err)
		}
		counts[body]++
	}
	within3Sigma(t, "green (weight 50)", counts["green"], n, 0.5)
	if counts["blue"]+counts["green"] != n {
		t.Errorf("unexpected bodies: %v", counts)
	}
	expectSeen(t, m.blue, "/tell", "color.local")
	expectSeen(t, m.green, "/tell", "color.local")
	if got := m.gw.stat(t, "cluster.cds_ingress_color_gateway_self_redirect_http_15001.upstream_rq_200"); got < n {
		t.Errorf("self-redirect cluster counted %d 200s, want >= %d", got, n)
	}
}

// TestGatewayRewritesAndMatches covers the prefix forms of App Mesh's
// default rewrite, the header-matched route, the exact path rewrite, and
// requests no gateway route matches.
func TestGatewayRewritesAndMatches(t *testing.T) {
	m := setupGateway(t)
	apps := map[string]*app{"blue": m.blue, "green": m.green}
	cases := []struct {
		path, wantPath string
	}{
		{"/color", "/"},  // the /color route of the /color/, /color pair
		{"/color/", "/"}, // the /color/ route
		{"/color/tell?x=1", "/tell?x=1"},
		{"/colorful", "/ful"},     // App Mesh: /chapter1 → /1
		{"/color//tell", "/tell"}, // merged slashes before matching
	}
	for _, tc := range cases {
		code, body, err := m.c.get(m.addr, publicHost, tc.path, nil)
		if err != nil || code != 200 || apps[body] == nil {
			t.Errorf("GET %s: %d %q %v", tc.path, code, body, err)
			continue
		}
		expectSeen(t, apps[body], tc.wantPath, "color.local")
	}
	for range 20 {
		code, body, err := m.c.get(m.addr, publicHost, "/color/tell", map[string]string{"x-color": "green"})
		if err != nil || code != 200 || body != "green" {
			t.Fatalf("GET /color/tell x-color: green: %d %q %v, want green", code, body, err)
		}
	}
	expectSeen(t, m.green, "/tell", "green.local")
	code, body, err := m.c.get(m.addr, publicHost, "/rewrite/path/blue?q=1", nil)
	if err != nil || code != 200 || body != "blue" {
		t.Fatalf("GET /rewrite/path/blue?q=1: %d %q %v, want blue", code, body, err)
	}
	expectSeen(t, m.blue, "/blue?q=1", "blue.local")
	for _, p := range []string{"/rewrite/path/blue/more", "/nothing", "/"} {
		if code, body, _ := m.c.get(m.addr, publicHost, p, nil); code != 404 {
			t.Errorf("GET %s: %d %q, want 404 (no gateway route)", p, code, body)
		}
	}
}

// TestGatewayTargetHeaderNotSpoofable: a client cannot pick the egress
// target by sending the gateway's internal header itself; the ingress route
// overwrites it, so /color/tell still reaches the 50/50 split.
func TestGatewayTargetHeaderNotSpoofable(t *testing.T) {
	m := setupGateway(t)
	counts := map[string]int{}
	for range 40 {
		code, body, err := m.c.get(m.addr, publicHost, "/color/tell",
			map[string]string{"x-trellis-virtual-service": fmt.Sprintf("green.local:%d", colorPort)})
		if err != nil || code != 200 {
			t.Fatalf("GET /color/tell: %d %q %v", code, body, err)
		}
		counts[body]++
	}
	if counts["blue"] == 0 || counts["green"] == 0 {
		t.Errorf("split %v: the client's header chose the target", counts)
	}
	expectSeen(t, m.blue, "/tell", "color.local")
}
