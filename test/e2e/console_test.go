package e2e

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/appmesh/types"
	"github.com/chromedp/chromedp"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	statuspb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/trellis-mesh/trellis/internal/console"
)

// consoleMesh is the App Mesh color walkthrough: gateway ingress → color.local
// → color-router → blue/green at blue%/green%, and a front node calling
// color.local.
func consoleMesh(t *testing.T, c *cp, blue, green int32) {
	t.Helper()
	c.mesh(t, "color", "")
	c.node(t, "color", "blue", nodeSpec("blue.color.local", 8080, types.PortProtocolHttp))
	c.node(t, "color", "green", nodeSpec("green.color.local", 8080, types.PortProtocolHttp))
	c.node(t, "color", "front", nodeSpec("front.color.local", 8080, types.PortProtocolHttp, "color.local"))
	c.router(t, "color", "color-router", 8080, types.PortProtocolHttp)
	c.route(t, "color", "color-router", "color-route", prefixRoute("/", weighted(wt("blue", blue), wt("green", green))))
	c.serviceByRouter(t, "color", "color.local", "color-router")
	c.gateway(t, "color", "ingress", 8088, types.VirtualGatewayPortProtocolHttp)
	c.gatewayRoute(t, "color", "ingress", "color-gr",
		httpGatewayRoute(&types.HttpGatewayRouteMatch{Prefix: aws.String("/color")}, "color.local", nil))
}

// nackingProxy connects to the xDS server as nodeID and rejects the first
// listener response with reason, as an Envoy refusing a config does. The
// stream stays open until the test ends.
func nackingProxy(t *testing.T, xdsAddr, nodeID, reason string) {
	t.Helper()
	conn, err := grpc.NewClient(xdsAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); conn.Close() })
	st, err := discoveryv3.NewAggregatedDiscoveryServiceClient(conn).StreamAggregatedResources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Send(&discoveryv3.DiscoveryRequest{Node: &corev3.Node{Id: nodeID}, TypeUrl: resourcev3.ListenerType}); err != nil {
		t.Fatal(err)
	}
	resp, err := st.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Send(&discoveryv3.DiscoveryRequest{TypeUrl: resp.GetTypeUrl(), ResponseNonce: resp.GetNonce(),
		ErrorDetail: &statuspb.Status{Code: int32(codes.InvalidArgument), Message: reason}}); err != nil {
		t.Fatal(err)
	}
}

// TestConsole opens the console in headless Chromium and checks the graph
// (boxes, edges, weights), live updates without reload, the NACK flag, the
// version-history diff, and that the page logs no error.
func TestConsole(t *testing.T) {
	ctx, errs := browser(t)
	c := startTrellis(t)
	consoleMesh(t, c, 90, 10)
	c.updateRoute(t, "color", "color-router", "color-route", prefixRoute("/", weighted(wt("blue", 50), wt("green", 50))))
	const reason = "Error adding/updating listener(s) lds_ingress_0.0.0.0_15000: demo rejection"
	nackingProxy(t, c.srv.XDSAddr(), "mesh/color/virtualNode/green", reason)

	tctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	if err := chromedp.Do(tctx, chromedp.Navigate("http://"+c.srv.Addr()+"/ui/?mesh=color"),
		chromedp.WaitVisible(chromedp.CSS(`body[data-ready="1"]`))); err != nil {
		t.Fatalf("open console: %v", err)
	}
	boxes := evalUntil(t, tctx, "boxes", jsList("#graph .box", "e.dataset.id"), func(v []string) bool { return len(v) == 6 })
	want := []string{"gw:ingress", "vn:blue", "vn:front", "vn:green", "vr:color-router", "vs:color.local"}
	for _, w := range want {
		if !slices.Contains(boxes, w) {
			t.Errorf("graph boxes %v lack %s", boxes, w)
		}
	}
	edges := evalUntil(t, tctx, "edges", jsList("#graph path.edge", "e.dataset.from + '>' + e.dataset.to"), func(v []string) bool { return len(v) == 5 })
	wantEdges := []string{"gw:ingress>vs:color.local", "vn:front>vs:color.local", "vr:color-router>vn:blue",
		"vr:color-router>vn:green", "vs:color.local>vr:color-router"}
	if !slices.Equal(edges, wantEdges) {
		t.Errorf("graph edges %v, want %v", edges, wantEdges)
	}
	evalUntil(t, tctx, "weights 50/50", jsList("#graph text.weight", "e.textContent"), func(v []string) bool {
		return slices.Equal(v, []string{"50% (w 50)", "50% (w 50)"})
	})

	// NACK: the box and the proxy row are flagged with the reason.
	evalUntil(t, tctx, "NACK flag", jsList(`#graph .box.nack`, "e.dataset.id"), func(v []string) bool { return slices.Equal(v, []string{"vn:green"}) })
	evalUntil(t, tctx, "NACK reason", `[...document.querySelectorAll("#proxy-rows tr.nacked .reason")].map(e => e.textContent).join()`,
		func(v string) bool { return v == reason })

	// Live: a write shows up without a reload.
	c.updateRoute(t, "color", "color-router", "color-route", prefixRoute("/", weighted(wt("blue", 20), wt("green", 80))))
	evalUntil(t, tctx, "weights 20/80 live", jsList("#graph text.weight", "e.textContent"), func(v []string) bool {
		return slices.Equal(v, []string{"20% (w 20)", "80% (w 80)"})
	})

	// History: the route has three versions; the diff of the last two.
	if err := chromedp.Do(tctx, chromedp.Click(chromedp.CSS(`#resources li[data-arn$="/virtualRouter/color-router/route/color-route"]`))); err != nil {
		t.Fatalf("select route: %v", err)
	}
	options := evalUntil(t, tctx, "versions", jsList("#from option", "e.value"), func(v []string) bool { return len(v) == 3 })
	t.Logf("history versions %v", options)
	diff := evalUntil(t, tctx, "diff", `[...document.querySelectorAll("#diff .add, #diff .del")].map(e => e.textContent)`,
		func(v []string) bool { return len(v) > 0 })
	for _, w := range []string{"- weight: 50", "+ weight: 20", "+ weight: 80"} {
		if !slices.ContainsFunc(diff, func(l string) bool { return strings.TrimSpace(l) == w || strings.Contains(l, w[2:]) && l[0] == w[0] }) {
			t.Errorf("diff %q lacks %q", diff, w)
		}
	}
	screenshot(t, tctx, "console.png")
	errs.check(t)
}

// TestConsoleThroughProxy opens the console through `trellis console`'s
// local proxy (console.Proxy), the way it runs with authentication on.
func TestConsoleThroughProxy(t *testing.T) {
	ctx, errs := browser(t)
	c := startTrellis(t)
	consoleMesh(t, c, 90, 10)
	signed := make(chan string, 100)
	sign := func(r *http.Request) error {
		r.Header.Set("X-Test-Signed", "yes")
		select {
		case signed <- r.URL.Path:
		default:
		}
		return nil
	}
	u, _ := url.Parse("http://" + c.srv.Addr())
	proxy := httptest.NewServer(console.Proxy(console.ProxyOptions{Endpoint: u, Sign: sign}))
	// The page's event stream is still open at the end: cut it, or Close
	// waits for it.
	defer func() { proxy.CloseClientConnections(); proxy.Close() }()
	tctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(tctx, chromedp.Navigate(proxy.URL+"/ui/?mesh=color"),
		chromedp.WaitVisible(chromedp.CSS(`body[data-ready="1"]`))); err != nil {
		t.Fatalf("open console: %v", err)
	}
	evalUntil(t, tctx, "weights 90/10", jsList("#graph text.weight", "e.textContent"), func(v []string) bool {
		return slices.Equal(v, []string{"10% (w 10)", "90% (w 90)"})
	})
	c.updateRoute(t, "color", "color-router", "color-route", prefixRoute("/", weighted(wt("blue", 50), wt("green", 50))))
	evalUntil(t, tctx, "live 50/50 through the proxy", jsList("#graph text.weight", "e.textContent"), func(v []string) bool {
		return slices.Equal(v, []string{"50% (w 50)", "50% (w 50)"})
	})
	if len(signed) == 0 {
		t.Error("no request went through the signing hook")
	}
	screenshot(t, tctx, "console-proxy.png")
	errs.check(t)
}
