package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/appmesh/types"
)

// withHostsFile wraps an Envoy command line so that Envoy alone sees hosts
// as /etc/hosts: a private mount namespace with the file bound over it.
// It needs root and unshare(1); without them the test skips, or fails
// under TRELLIS_REQUIRE_NETNS=1.
func withHostsFile(t *testing.T, dir, hosts string, args []string) []string {
	t.Helper()
	unshare, err := exec.LookPath("unshare")
	if err != nil || os.Geteuid() != 0 {
		if os.Getenv("TRELLIS_REQUIRE_NETNS") == "1" {
			t.Fatalf("a private /etc/hosts needs root and unshare (util-linux): %v", err)
		}
		t.Skip("a private /etc/hosts needs root and unshare; set TRELLIS_REQUIRE_NETNS=1 to fail instead")
	}
	p := filepath.Join(dir, "hosts")
	if err := os.WriteFile(p, []byte(hosts), 0o644); err != nil {
		t.Fatal(err)
	}
	script := `mount --bind "$0" /etc/hosts && exec "$@"`
	return append([]string{unshare, "--mount", "--propagation", "private", "sh", "-c", script, p}, args...)
}

// TestDNSHostnameFromEtcHosts: a virtual node whose DNS hostname resolves
// only through /etc/hosts (Docker extra_hosts, ECS extraHosts) is reached,
// for both LOADBALANCER (logical DNS) and ENDPOINTS (strict DNS) response
// types: the hostname goes to Envoy without a trailing dot.
func TestDNSHostnameFromEtcHosts(t *testing.T) {
	c := startTrellis(t)
	cl := newClient()
	blueIP, greenIP, frontIP := loopbackIP(), loopbackIP(), loopbackIP()
	startApp(t, "blue", blueIP, colorPort)
	startApp(t, "green", greenIP, colorPort)
	c.mesh(t, "color", "")
	c.node(t, "color", "blue", nodeSpec("colorteller-blue.local", colorPort, types.PortProtocolHttp))
	green := nodeSpec("colorteller-green.local", colorPort, types.PortProtocolHttp)
	green.ServiceDiscovery.(*types.ServiceDiscoveryMemberDns).Value.ResponseType = types.DnsResponseTypeEndpoints
	c.node(t, "color", "green", green)
	c.serviceByNode(t, "color", "blue.local", "blue")
	c.serviceByNode(t, "color", "green.local", "green")
	c.node(t, "color", "front", nodeSpec("", 0, "", "blue.local", "green.local"))
	hosts := fmt.Sprintf("127.0.0.1 localhost\n%s colorteller-blue.local\n%s colorteller-green.local\n", blueIP, greenIP)
	startEnvoy(t, c, proxyConfig{NodeID: "mesh/color/virtualNode/front", IP: frontIP, Hosts: hosts})
	addr := fmt.Sprintf("%s:%d", frontIP, colorPort)
	eventually(t, 15*time.Second, cl.expectBody(addr, "blue.local", "/", nil, "blue"))
	eventually(t, 15*time.Second, cl.expectBody(addr, "green.local", "/", nil, "green"))
}
