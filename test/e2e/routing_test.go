package e2e

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/appmesh/types"
)

const colorPort = 9080

// colorMesh is the App Mesh color walkthrough on loopback: a front proxy
// whose backend color.local is a router splitting across blue and green.
type colorMesh struct {
	cp          *cp
	front       *envoyProc
	frontAddr   string
	blue, green *app
	c           *client
}

func setupColor(t *testing.T, blueWeight, greenWeight int32) *colorMesh {
	t.Helper()
	return setupColorXDS(t, blueWeight, greenWeight, false)
}

// setupColorXDS is setupColor with the front Envoy on delta xDS or not.
func setupColorXDS(t *testing.T, blueWeight, greenWeight int32, delta bool) *colorMesh {
	t.Helper()
	c := startTrellis(t)
	m := &colorMesh{cp: c, c: newClient()}
	blueIP, greenIP, frontIP := loopbackIP(), loopbackIP(), loopbackIP()
	m.blue = startApp(t, "blue", blueIP, colorPort)
	m.green = startApp(t, "green", greenIP, colorPort)
	c.mesh(t, "color", "")
	c.node(t, "color", "blue", nodeSpec(blueIP, colorPort, types.PortProtocolHttp))
	c.node(t, "color", "green", nodeSpec(greenIP, colorPort, types.PortProtocolHttp))
	c.node(t, "color", "front", nodeSpec("", 0, "", "color.local"))
	c.router(t, "color", "color-router", colorPort, types.PortProtocolHttp)
	c.route(t, "color", "color-router", "color-route", prefixRoute("/", weighted(wt("blue", blueWeight), wt("green", greenWeight))))
	c.serviceByRouter(t, "color", "color.local", "color-router")
	m.front = startEnvoy(t, c, proxyConfig{NodeID: "mesh/color/virtualNode/front", IP: frontIP, Delta: delta})
	m.frontAddr = fmt.Sprintf("%s:%d", frontIP, colorPort)
	return m
}

// split sends n requests and returns the count per body.
func (m *colorMesh) split(t *testing.T, n int) map[string]int {
	t.Helper()
	counts := map[string]int{}
	for range n {
		code, body, err := m.c.get(m.frontAddr, "color.local", "/", nil)
		if err != nil || code != 200 {
			t.Fatalf("request failed: %d %q %v", code, body, err)
		}
		counts[body]++
	}
	return counts
}

// within3Sigma checks a binomial count against its expected share.
func within3Sigma(t *testing.T, what string, got, n int, p float64) {
	t.Helper()
	mean := float64(n) * p
	sigma := math.Sqrt(float64(n) * p * (1 - p))
	if math.Abs(float64(got)-mean) > 3*sigma {
		t.Errorf("%s: %d of %d, expected %.0f ± %.1f (3σ)", what, got, n, mean, 3*sigma)
	} else {
		t.Logf("%s: %d of %d (expected %.0f ± %.1f)", what, got, n, mean, 3*sigma)
	}
}

func TestWeightedSplit(t *testing.T) {
	m := setupColor(t, 90, 10)
	eventually(t, 10*time.Second, m.c.expectEach(m.frontAddr, "color.local", "/", "blue", "green"))
	const n = 2000
	counts := m.split(t, n)
	within3Sigma(t, "green (weight 10)", counts["green"], n, 0.10)
	if counts["blue"]+counts["green"] != n {
		t.Errorf("unexpected bodies: %v", counts)
	}
}

// TestLiveWeightChange shifts the canary with UpdateRoute while Envoy keeps
// running: the new split applies without a restart.
func TestLiveWeightChange(t *testing.T) {
	m := setupColor(t, 100, 0)
	eventually(t, 10*time.Second, m.c.expectBody(m.frontAddr, "color.local", "/", nil, "blue"))
	pid := m.front.cmd.Process.Pid
	start := time.Now()
	m.cp.updateRoute(t, "color", "color-router", "color-route", prefixRoute("/", weighted(wt("blue", 0), wt("green", 100))))
	eventually(t, 10*time.Second, m.c.expectBody(m.frontAddr, "color.local", "/", nil, "green"))
	t.Logf("100/0 -> 0/100 applied in %v (API write to first green response)", time.Since(start).Round(time.Millisecond))
	m.cp.updateRoute(t, "color", "color-router", "color-route", prefixRoute("/", weighted(wt("blue", 50), wt("green", 50))))
	eventually(t, 10*time.Second, func() error {
		c := m.split(t, 200)
		if c["blue"] < 60 || c["green"] < 60 {
			return fmt.Errorf("split %v not yet 50/50", c)
		}
		return nil
	})
	const n = 2000
	counts := m.split(t, n)
	within3Sigma(t, "green (weight 50)", counts["green"], n, 0.5)
	if m.front.cmd.Process.Pid != pid || m.front.cmd.ProcessState != nil {
		t.Error("envoy was restarted")
	}
}

func TestHeaderPathQueryMethodRouting(t *testing.T) {
	m := setupColor(t, 100, 0)
	c := m.cp
	// Higher priority routes send selected requests to green.
	add := func(name string, prio int32, match *types.HttpRouteMatch) {
		c.route(t, "color", "color-router", name, &types.RouteSpec{Priority: aws.Int32(prio),
			HttpRoute: &types.HttpRoute{Match: match, Action: weighted(wt("green", 100))}})
	}
	add("by-header", 1, &types.HttpRouteMatch{Prefix: aws.String("/"), Headers: []types.HttpRouteHeader{{Name: aws.String("x-canary"), Match: &types.HeaderMatchMethodMemberExact{Value: "yes"}}}})
	add("by-path", 2, &types.HttpRouteMatch{Path: &types.HttpPathMatch{Exact: aws.String("/green/exact")}})
	add("by-regex", 3, &types.HttpRouteMatch{Path: &types.HttpPathMatch{Regex: aws.String("/re/[0-9]+")}})
	add("by-query", 4, &types.HttpRouteMatch{Prefix: aws.String("/"), QueryParameters: []types.HttpQueryParameter{{Name: aws.String("color"), Match: &types.QueryParameterMatch{Exact: aws.String("green")}}}})
	add("by-method", 5, &types.HttpRouteMatch{Prefix: aws.String("/"), Method: types.HttpMethodPost})
	add("by-prefix-header-range", 6, &types.HttpRouteMatch{Prefix: aws.String("/"), Headers: []types.HttpRouteHeader{{Name: aws.String("x-version"), Match: &types.HeaderMatchMethodMemberRange{Value: types.MatchRange{Start: aws.Int64(10), End: aws.Int64(20)}}}}})
	// Routes arrive one API call at a time; the last one proves all are live.
	eventually(t, 10*time.Second, m.c.expectBody(m.frontAddr, "color.local", "/", map[string]string{"x-version": "15"}, "green"))
	cases := []struct {
		method, path string
		hdr          map[string]string
		want         string
	}{
		{"GET", "/", nil, "blue"},
		{"GET", "/", map[string]string{"x-canary": "yes"}, "green"},
		{"GET", "/", map[string]string{"x-canary": "no"}, "blue"},
		{"GET", "/green/exact", nil, "green"},
		{"GET", "/green/exact/more", nil, "blue"},
		{"GET", "/re/123", nil, "green"},
		{"GET", "/re/abc", nil, "blue"},
		{"GET", "/?color=green", nil, "green"},
		{"GET", "/?color=blue", nil, "blue"},
		{"POST", "/", nil, "green"},
		{"GET", "/", map[string]string{"x-version": "15"}, "green"},
		{"GET", "/", map[string]string{"x-version": "20"}, "blue"},
	}
	for _, tc := range cases {
		code, body, err := m.c.do(tc.method, m.frontAddr, "color.local", tc.path, tc.hdr)
		if err != nil || code != 200 || body != tc.want {
			t.Errorf("%s %s %v: got %d %q %v, want %q", tc.method, tc.path, tc.hdr, code, body, err, tc.want)
		}
	}
	// Host matching: an unknown host is not routed (DROP_ALL mesh), with or without port.
	if code, _, _ := m.c.get(m.frontAddr, "unknown.local", "/", nil); code != 404 {
		t.Errorf("unknown host: %d, want 404", code)
	}
	if code, body, _ := m.c.get(m.frontAddr, fmt.Sprintf("color.local:%d", colorPort), "/", nil); code != 200 || body != "blue" {
		t.Errorf("host with port: %d %q", code, body)
	}
}
