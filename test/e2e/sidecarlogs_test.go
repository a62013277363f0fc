package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/appmesh/types"
)

// buildTrellis builds the trellis binary into a temp dir.
func buildTrellis(t *testing.T) string {
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
	return bin
}

// TestSidecarAccessLogRawOnStdout runs the `trellis sidecar` binary for a
// node whose access log is a JSON format on /dev/stdout, at --log-level
// warn: every line of the sidecar's stdout is Envoy's JSON, byte for byte
// (it parses, and carries the request's values), and the agent's own
// structured log stays on stderr.
func TestSidecarAccessLogRawOnStdout(t *testing.T) {
	envoyBinary(t)
	bin := buildTrellis(t)
	c := startTrellis(t)
	blueIP, frontIP := loopbackIP(), loopbackIP()
	startApp(t, "blue", blueIP, colorPort)
	c.mesh(t, "color", "")
	c.node(t, "color", "blue", nodeSpec(blueIP, colorPort, types.PortProtocolHttp))
	c.serviceByNode(t, "color", "color.local", "blue")
	front := nodeSpec("", 0, "", "color.local")
	front.Logging = &types.Logging{AccessLog: &types.AccessLogMemberFile{Value: types.FileAccessLog{
		Path: aws.String("/dev/stdout"), Format: &types.LoggingFormatMemberJson{Value: []types.JsonFormatRef{
			{Key: aws.String("status"), Value: aws.String("%RESPONSE_CODE%")},
			{Key: aws.String("path"), Value: aws.String("%REQ(:PATH)%")},
			{Key: aws.String("ua"), Value: aws.String("%REQ(USER-AGENT)%")}}}}}}
	c.node(t, "color", "front", front)

	cmd := exec.Command(bin, "sidecar", "--log-level", "warn", "--mesh", "color", "--virtual-node", "front",
		"--xds-address", c.srv.XDSAddr(), "--envoy-path", envoyBinary(t), "--interception", "none",
		"--ingress-address", frontIP, "--egress-address", frontIP, "--app-address", frontIP,
		"--admin-port", strconv.Itoa(freePort(t, "127.0.0.1")), "--agent-addr", "127.0.0.1:"+strconv.Itoa(freePort(t, "127.0.0.1")),
		"--envoy-log-level", "warn", "--concurrency", "1", "--drain-time", "1")
	stdout, stderr := newLogBuffer(), newLogBuffer()
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		if t.Failed() {
			t.Logf("sidecar stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
		}
	})
	cl := newClient()
	addr := fmt.Sprintf("%s:%d", frontIP, colorPort)
	const ua = "e2e \"quoted\"\tua é"
	eventually(t, 20*time.Second, cl.expectBody(addr, "color.local", "/log-me", map[string]string{"User-Agent": ua}, "blue"))

	var entry map[string]any
	eventually(t, 10*time.Second, func() error { // Envoy flushes access logs every second
		sc := bufio.NewScanner(bytes.NewReader([]byte(stdout.String())))
		for sc.Scan() {
			var m map[string]any
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				return fmt.Errorf("stdout line is not Envoy's JSON: %q: %v", sc.Text(), err)
			}
			if m["path"] == "/log-me" {
				entry = m
				return nil
			}
		}
		return fmt.Errorf("no access-log line for /log-me yet")
	})
	if entry["ua"] != ua || entry["status"] != float64(200) {
		t.Errorf("access log entry %v, want ua %q status 200", entry, ua)
	}
	if strings.Contains(stdout.String(), "level=") {
		t.Errorf("agent log records on stdout:\n%s", stdout.String())
	}
}
