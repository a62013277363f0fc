package e2e

import (
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/appmesh/types"
)

// failing makes an app answer status for the first fails of every
// period attempts, so retries are counted at the upstream.
func failing(a *app, status int, fails, period int64) {
	var n atomic.Int64
	a.onRequest(func(w http.ResponseWriter, r *http.Request) bool {
		if (n.Add(1)-1)%period < fails {
			w.WriteHeader(status)
			return true
		}
		return false
	})
}

func TestExplicitRetryPolicy(t *testing.T) {
	m := setupColor(t, 100, 0)
	m.cp.updateRoute(t, "color", "color-router", "color-route", &types.RouteSpec{HttpRoute: &types.HttpRoute{
		Match:  &types.HttpRouteMatch{Prefix: aws.String("/")},
		Action: weighted(wt("blue", 100)),
		RetryPolicy: &types.HttpRetryPolicy{MaxRetries: aws.Int64(3), HttpRetryEvents: []string{"server-error"},
			PerRetryTimeout: &types.Duration{Unit: types.DurationUnitMs, Value: aws.Int64(2000)}},
	}})
	// Wait until the policy is live: a 500 is retried only with it.
	failing(m.blue, 500, 1, 2)
	eventually(t, 10*time.Second, func() error {
		for range 4 {
			if code, _, err := m.c.get(m.frontAddr, "color.local", "/", nil); err != nil || code != 200 {
				return fmt.Errorf("got %d %v", code, err)
			}
		}
		return nil
	})
	failing(m.blue, 500, 3, 4) // three failures, then success: needs all 3 retries
	m.blue.hits.Store(0)
	const n = 25
	for range n {
		code, body, err := m.c.get(m.frontAddr, "color.local", "/", nil)
		if err != nil || code != 200 || body != "blue" {
			t.Fatalf("request failed despite retries: %d %q %v", code, body, err)
		}
	}
	if got := m.blue.hits.Load(); got != 4*n {
		t.Errorf("upstream saw %d attempts for %d requests, want %d (1 + 3 retries each)", got, n, 4*n)
	}
	failing(m.blue, 500, 4, 5) // one failure too many: the client sees the 500
	if code, _, _ := m.c.get(m.frontAddr, "color.local", "/", nil); code != 500 {
		t.Errorf("after exhausting retries got %d, want 500", code)
	}
}

// TestDefaultRetryPolicy: a route with no retry policy still retries a 503
// twice, as App Mesh's hidden default did.
func TestDefaultRetryPolicy(t *testing.T) {
	m := setupColor(t, 100, 0)
	eventually(t, 10*time.Second, m.c.expectBody(m.frontAddr, "color.local", "/", nil, "blue"))
	failing(m.blue, 503, 2, 3)
	m.blue.hits.Store(0)
	const n = 20
	for range n {
		if code, _, err := m.c.get(m.frontAddr, "color.local", "/", nil); err != nil || code != 200 {
			t.Fatalf("default retries did not hide two 503s: %d %v", code, err)
		}
	}
	if got := m.blue.hits.Load(); got != 3*n {
		t.Errorf("upstream saw %d attempts, want %d", got, 3*n)
	}
	failing(m.blue, 500, 1, 2) // 500 is not retried by default
	m.blue.hits.Store(0)
	if code, _, _ := m.c.get(m.frontAddr, "color.local", "/", nil); code != 500 || m.blue.hits.Load() != 1 {
		t.Errorf("500 with default policy: code %d after %d attempts, want 500 after 1", code, m.blue.hits.Load())
	}
}

func TestPerRequestTimeout(t *testing.T) {
	m := setupColor(t, 100, 0)
	m.cp.updateRoute(t, "color", "color-router", "color-route", &types.RouteSpec{HttpRoute: &types.HttpRoute{
		Match:   &types.HttpRouteMatch{Prefix: aws.String("/")},
		Action:  weighted(wt("blue", 100)),
		Timeout: &types.HttpTimeout{PerRequest: &types.Duration{Unit: types.DurationUnitMs, Value: aws.Int64(300)}},
	}})
	m.blue.onRequest(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path == "/slow" {
			time.Sleep(2 * time.Second)
		}
		return false
	})
	// Until the 300 ms timeout is live, /slow takes 2 s and answers 200.
	eventually(t, 15*time.Second, func() error {
		start := time.Now()
		code, _, err := m.c.get(m.frontAddr, "color.local", "/slow", nil)
		if err != nil || code != 504 {
			return fmt.Errorf("got %d %v", code, err)
		}
		d := time.Since(start)
		if d < 250*time.Millisecond || d > 1500*time.Millisecond {
			return fmt.Errorf("timed out after %v, want about 300ms", d)
		}
		t.Logf("per-request timeout 300ms observed: 504 after %v", d.Round(time.Millisecond))
		return nil
	})
}

// TestOutlierDetection: a node whose listener declares outlier detection is
// ejected by its callers after consecutive server errors.
func TestOutlierDetection(t *testing.T) {
	m := setupColor(t, 100, 0)
	blueIP, _, _ := net.SplitHostPort(m.blue.addr)
	spec := nodeSpec(blueIP, colorPort, types.PortProtocolHttp)
	spec.Listeners[0].OutlierDetection = &types.OutlierDetection{
		MaxServerErrors: aws.Int64(3), MaxEjectionPercent: aws.Int32(100),
		Interval:             &types.Duration{Unit: types.DurationUnitS, Value: aws.Int64(1)},
		BaseEjectionDuration: &types.Duration{Unit: types.DurationUnitS, Value: aws.Int64(30)},
	}
	must[any](t)(m.cp.client.UpdateVirtualNode(m.cp.ctx, updateNode("color", "blue", spec)))
	stat := "cluster.cds_egress_color_blue_http_9080.outlier_detection.ejections_enforced_total"
	eventually(t, 10*time.Second, func() error {
		if !m.front.hasStat(t, "cluster.cds_egress_color_blue_http_9080.outlier_detection.ejections_active") {
			return fmt.Errorf("outlier detection not configured yet")
		}
		return nil
	})
	failing(m.blue, 500, 1000, 1000)
	for range 6 {
		m.c.get(m.frontAddr, "color.local", "/", nil)
	}
	eventually(t, 5*time.Second, func() error {
		if n := m.front.stat(t, stat); n < 1 {
			return fmt.Errorf("%s = %d", stat, n)
		}
		return nil
	})
}
