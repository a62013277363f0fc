package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/appmesh/types"
	sd "github.com/aws/aws-sdk-go-v2/service/servicediscovery"
)

// TestTrafficShiftNo503 moves all of a route's weight from one target to
// the other and back (blue 100 -> green 100 -> blue 100 ...) under steady
// load. Each shift drops a cluster the previous routes named and adds one
// the new routes name: the control plane must make before it breaks
// (clusters and their endpoints before the routes that use them, removals
// only after the routes stopped naming them). Not one request may fail.
func TestTrafficShiftNo503(t *testing.T) {
	for _, tc := range []struct {
		name       string
		delta, eds bool
	}{{"sotw", false, false}, {"delta", true, false}, {"sotw-cloudmap", false, true}, {"delta-cloudmap", true, true}} {
		t.Run(tc.name, func(t *testing.T) { testTrafficShift(t, tc.delta, tc.eds) })
	}
}

// testTrafficShift runs the shifts on SotW or delta xDS, with blue and
// green found by DNS (STRICT_DNS clusters) or through Cloud Map (EDS
// clusters, whose endpoints must arrive before the routes that use them).
func testTrafficShift(t *testing.T, delta, eds bool) {
	envoyBinary(t)
	m, accessLog := setupShift(t, delta, eds)
	eventually(t, 10*time.Second, m.c.expectBody(m.frontAddr, "color.local", "/", nil, "blue"))
	const (
		shifts = 16
		rps    = 300
	)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	l := runLoad(ctx, m.c, m.frontAddr, "color.local", rps, 6)
	time.Sleep(300 * time.Millisecond)
	start := time.Now()
	to := "blue"
	for range shifts {
		to = map[string]string{"blue": "green", "green": "blue"}[to]
		m.cp.updateRoute(t, "color", "color-router", "color-route", prefixRoute("/", weighted(wt(to, 100))))
		served(t, m, l, to)
		time.Sleep(200 * time.Millisecond) // traffic on the new target, and the removal after it
	}
	cancel()
	time.Sleep(200 * time.Millisecond) // let in-flight requests finish counting
	// Make before break still breaks: the cluster nothing routes to goes.
	from := map[string]string{"blue": "green", "green": "blue"}[to]
	gone := "cluster.cds_egress_color_" + from + "_http_9080.upstream_cx_total"
	eventually(t, 10*time.Second, func() error {
		if m.front.hasStat(t, gone) {
			return fmt.Errorf("front still has the cluster of %s", from)
		}
		return nil
	})
	expectAllAcked(t, m.cp, "mesh/color/virtualNode/front")
	ok, failed := l.ok.Load(), l.failed.Load()
	t.Logf("%d shifts (100%% to one target each) in %v: %d requests succeeded, %d failed",
		shifts, time.Since(start).Round(time.Millisecond), ok, failed)
	t.Logf("front stats:\n%s", m.front.statsMatching(`cluster_manager\.cluster_(added|removed)|no_cluster|upstream_rq_503|rds\..*update_success|cds\.update_success`))
	if n := sumStats(m.front.statsMatching(`^http\.[^.]+\.no_cluster$`)); n != 0 {
		t.Errorf("front answered %d requests with no cluster (503 NC)", n)
	}
	if ok == 0 {
		t.Error("no request succeeded")
	}
	if failed != 0 {
		l.mu.Lock()
		t.Errorf("%d requests failed while the route shifted: %v", failed, l.failures)
		l.mu.Unlock()
		t.Logf("front access log, failed requests:\n%s", failedLines(accessLog))
	}
}

// served waits until the front serves body, counting any request that
// fails meanwhile (a wrong body is not a failure: the shift is underway)
// into l.
func served(t *testing.T, m *colorMesh, l *load, body string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		code, got, err := m.c.get(m.frontAddr, "color.local", "/", nil)
		if err != nil || code != 200 {
			l.failed.Add(1)
			l.mu.Lock()
			l.failures[fmt.Sprintf("%d %s %v", code, got, err)]++
			l.mu.Unlock()
		}
		if got == body {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("front does not serve %s within 10s", body)
}

// sumStats adds up the values of admin stats lines ("name: value").
func sumStats(lines string) int {
	n := 0
	for line := range strings.Lines(lines) {
		if _, v, ok := strings.Cut(strings.TrimSpace(line), ": "); ok {
			i, _ := strconv.Atoi(v)
			n += i
		}
	}
	return n
}

// setupShift is setupColorXDS (all weight on blue) with the front
// proxy's access log in a file, its lines carrying Envoy's response flags
// and the upstream cluster, to explain any failure.
func setupShift(t *testing.T, delta, eds bool) (*colorMesh, string) {
	t.Helper()
	blueIP, greenIP, frontIP := loopbackIP(), loopbackIP(), loopbackIP()
	var c *cp
	if eds {
		c = startCloudMapColor(t, blueIP, greenIP)
	} else {
		c = startTrellis(t)
		c.mesh(t, "color", "")
		c.node(t, "color", "blue", nodeSpec(blueIP, colorPort, types.PortProtocolHttp))
		c.node(t, "color", "green", nodeSpec(greenIP, colorPort, types.PortProtocolHttp))
	}
	m := &colorMesh{cp: c, c: newClient()}
	m.blue = startApp(t, "blue", blueIP, colorPort)
	m.green = startApp(t, "green", greenIP, colorPort)
	accessLog := filepath.Join(t.TempDir(), "front-access.log")
	front := nodeSpec("", 0, "", "color.local")
	front.Logging = &types.Logging{AccessLog: &types.AccessLogMemberFile{Value: types.FileAccessLog{
		Path: aws.String(accessLog),
		Format: &types.LoggingFormatMemberText{Value: "[%START_TIME%] %RESPONSE_CODE% %RESPONSE_FLAGS% " +
			"%UPSTREAM_CLUSTER% %RESPONSE_CODE_DETAILS%\n"},
	}}}
	c.node(t, "color", "front", front)
	c.router(t, "color", "color-router", colorPort, types.PortProtocolHttp)
	c.route(t, "color", "color-router", "color-route", prefixRoute("/", weighted(wt("blue", 100))))
	c.serviceByRouter(t, "color", "color.local", "color-router")
	m.front = startEnvoy(t, c, proxyConfig{NodeID: "mesh/color/virtualNode/front", IP: frontIP, Delta: delta})
	m.frontAddr = fmt.Sprintf("%s:%d", frontIP, colorPort)
	return m, accessLog
}

// startCloudMapColor starts a server whose mesh color has virtual nodes
// blue and green discovered through Cloud Map, one registered instance
// each (the TTL outlasts the test, so no heartbeat is needed).
func startCloudMapColor(t *testing.T, blueIP, greenIP string) *cp {
	t.Helper()
	c, reg := startTrellisTTL(t, time.Hour)
	ctx := c.ctx
	op := must[*sd.CreateHttpNamespaceOutput](t)(reg.CreateHttpNamespace(ctx, &sd.CreateHttpNamespaceInput{Name: aws.String("apps.local")}))
	nsID := must[*sd.GetOperationOutput](t)(reg.GetOperation(ctx, &sd.GetOperationInput{OperationId: op.OperationId})).Operation.Targets["NAMESPACE"]
	svcID := must[*sd.CreateServiceOutput](t)(reg.CreateService(ctx, &sd.CreateServiceInput{Name: aws.String("color"), NamespaceId: aws.String(nsID)})).Service.Id
	for _, inst := range [][2]string{{"blue", blueIP}, {"green", greenIP}} {
		must[*sd.RegisterInstanceOutput](t)(reg.RegisterInstance(ctx, &sd.RegisterInstanceInput{ServiceId: svcID, InstanceId: aws.String(inst[0]),
			Attributes: map[string]string{"AWS_INSTANCE_IPV4": inst[1], "AWS_INSTANCE_PORT": strconv.Itoa(colorPort), "version": inst[0]}}))
	}
	c.mesh(t, "color", "")
	c.node(t, "color", "blue", cloudMapNode("blue"))
	c.node(t, "color", "green", cloudMapNode("green"))
	return c
}

// failedLines returns the access log's lines of non-2xx responses (at
// most 50).
func failedLines(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	var out []string
	for line := range strings.Lines(string(b)) {
		if f := strings.Fields(line); len(f) > 2 && !strings.HasPrefix(f[1], "2") && len(out) < 50 {
			out = append(out, strings.TrimSpace(line))
		}
	}
	return strings.Join(out, "\n")
}

// statsMatching is Envoy's admin stats whose names match the regex.
func (e *envoyProc) statsMatching(re string) string {
	resp, err := http.Get(e.admin + "/stats?filter=" + re)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
