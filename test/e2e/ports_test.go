package e2e

import (
	"strconv"
	"testing"

	"github.com/trellis-mesh/trellis/internal/freeport"
)

// Fixed-but-free ports (Envoy admin ports, sidecar agent addresses, an
// xDS address a test stops and binds again after an outage) come from
// freeport, which picks them below the kernel's ephemeral range so that no
// outgoing connection takes them between the pick and the bind.

// freePort returns a TCP port free on ip a moment ago.
func freePort(t *testing.T, ip string) int {
	t.Helper()
	port, err := freeport.Port(ip)
	if err != nil {
		t.Fatal(err)
	}
	return port
}

// freePortOnBoth returns a TCP port free on both addresses, so two
// replicas behind one name can share it.
func freePortOnBoth(t *testing.T, a, b string) string {
	t.Helper()
	port, err := freeport.Port(a, b)
	if err != nil {
		t.Fatal(err)
	}
	return strconv.Itoa(port)
}
