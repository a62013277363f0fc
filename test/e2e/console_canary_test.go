package e2e

import (
	"bufio"
	"context"
	"flag"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/appmesh"
	"github.com/chromedp/chromedp"
)

var updateScreenshot = flag.Bool("update-screenshot", false, "TestConsoleCanary rewrites docs/console.png")

// demoRun is a `trellis demo --keep` in the background.
type demoRun struct {
	consoleURL, gatewayURL, apiURL string
	// credFile is the demo's admin key (the server has authentication on).
	credFile string
}

// startDemo builds trellis, runs the demo with --keep and waits until it
// is up; the demo is interrupted (and waited for) when the test ends.
func startDemo(t *testing.T) demoRun {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output()
	if err != nil {
		t.Fatalf("go list -m: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "trellis")
	build := exec.Command("go", "build", "-o", bin, "./cmd/trellis")
	build.Dir = strings.TrimSpace(string(out))
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	cmd := exec.Command(bin, "demo", "--keep", "--requests", "40")
	cmd.Stderr = io.Discard
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		go func() {
			for range lines {
			}
		}()
		wg.Wait()
		cmd.Wait()
	})
	var d demoRun
	console := regexp.MustCompile(`Console: (http://\S+/ui/)`)
	curl := regexp.MustCompile(`^\s+curl (http://\S+)`)
	api := regexp.MustCompile(`AWS_SHARED_CREDENTIALS_FILE=(\S+) aws appmesh list-meshes --endpoint-url (\S+)`)
	deadline := time.After(120 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("demo exited before it was up")
			}
			t.Log("demo: " + l)
			if m := console.FindStringSubmatch(l); m != nil {
				d.consoleURL = m[1] + "?mesh=color"
			}
			if m := api.FindStringSubmatch(l); m != nil {
				d.credFile, d.apiURL = m[1], m[2]
			}
			if m := curl.FindStringSubmatch(l); m != nil {
				d.gatewayURL = m[1]
			}
			if strings.Contains(l, "Press Ctrl-C") {
				if d.consoleURL == "" || d.gatewayURL == "" || d.apiURL == "" {
					t.Fatal("the demo printed no console, gateway or API URL")
				}
				go func() {
					for range lines {
					}
				}()
				return d
			}
		case <-deadline:
			t.Fatal("demo not up after 120 s")
		}
	}
}

// setWeights updates the demo's color-route, signed with the demo's key.
func setWeights(t *testing.T, d demoRun, blue, green int32) {
	t.Helper()
	b, err := os.ReadFile(d.credFile)
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			keys[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	client := appmesh.New(appmesh.Options{Region: "us-east-1", BaseEndpoint: aws.String(d.apiURL),
		Credentials: credentials.NewStaticCredentialsProvider(keys["aws_access_key_id"], keys["aws_secret_access_key"], "")})
	spec := prefixRoute("/", weighted(wt("blue", blue), wt("green", green)))
	if _, err := client.UpdateRoute(context.Background(), &appmesh.UpdateRouteInput{MeshName: aws.String("color"),
		VirtualRouterName: aws.String("color-router"), RouteName: aws.String("color-route"), Spec: spec}); err != nil {
		t.Fatal(err)
	}
}

// traffic sends requests to url at about rate per second until stop.
func traffic(t *testing.T, url string, rate int) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(time.Second / time.Duration(rate))
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
				if resp, err := http.DefaultClient.Do(req); err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}
		}
	}()
	return func() { cancel(); wg.Wait() }
}

// rps reads the request rate from an edge's stats label ("12.3 rps · ...").
func rps(label string) float64 {
	f, _ := strconv.ParseFloat(strings.Fields(label + " 0")[0], 64)
	return f
}

// TestConsoleCanary runs the demo with real Envoy, shifts the canary back
// to 90/10 while traffic flows, and checks in the browser that the traffic
// figures appear and move. It writes docs/console.png with
// -update-screenshot.
func TestConsoleCanary(t *testing.T) {
	envoyBinary(t)
	ctx, errs := browser(t)
	d := startDemo(t)
	setWeights(t, d, 90, 10)
	stop := traffic(t, d.gatewayURL, 20)
	defer stop()

	tctx, cancel := context.WithTimeout(ctx, 150*time.Second)
	defer cancel()
	if err := chromedp.Do(tctx, chromedp.Navigate(d.consoleURL), chromedp.WaitVisible(chromedp.CSS(`body[data-ready="1"]`))); err != nil {
		t.Fatalf("open console: %v", err)
	}
	evalUntil(t, tctx, "weights 90/10", jsList("#graph text.weight", "e.textContent"), func(v []string) bool {
		return len(v) == 2 && v[0] == "10% (w 10)" && v[1] == "90% (w 90)"
	})
	blueStats := `(document.querySelector('#graph text.stats[data-edge="vr:color-router>vn:blue"]') || {}).textContent || ""`
	first := evalUntil(t, tctx, "blue edge carries traffic", blueStats, func(s string) bool { return rps(s) > 0 })
	t.Logf("first figures on the blue edge: %s", first)
	// Numbers move: the rate climbs as the window fills, sample to sample.
	later := evalUntil(t, tctx, "figures move", blueStats, func(s string) bool { return s != first && rps(s) > 0 })
	t.Logf("later figures on the blue edge: %s", later)
	gw := evalUntil(t, tctx, "gateway edge carries traffic",
		`(document.querySelector('#graph text.stats[data-edge="gw:ingress>vs:color.local"]') || {}).textContent || ""`,
		func(s string) bool { return rps(s) > 0 })
	t.Logf("figures on the gateway -> color.local edge: %s", gw)
	// For the README picture, let the one-minute window fill so the rates
	// are representative; the checks above do not need it.
	waitFor := time.Now().Add(60 * time.Second)
	for *updateScreenshot && time.Now().Before(waitFor) {
		if s, _ := chromedp.Run(tctx, chromedp.Evaluate[string](blueStats)); rps(s) > 12 {
			break
		}
		time.Sleep(time.Second)
	}
	if err := chromedp.Do(tctx, chromedp.Click(chromedp.CSS(`#resources li[data-arn$="/route/color-route"]`))); err != nil {
		t.Fatalf("select route: %v", err)
	}
	evalUntil(t, tctx, "diff", `document.querySelectorAll("#diff .add").length`, func(n int) bool { return n > 0 })
	_, png := screenshot(t, tctx, "console-canary.png")
	if *updateScreenshot {
		if err := os.WriteFile(filepath.Join("..", "..", "docs", "console.png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	errs.check(t)
}
