package e2e

import (
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
)

// Fixed-but-free ports (Envoy admin ports, sidecar agent addresses, an
// xDS address a test stops and binds again after an outage) are picked in
// [portFloor, the kernel's ephemeral range): between the pick and the
// bind, which can be seconds, a port inside the ephemeral range may be
// handed to any process's outgoing connection or ':0' listener (CI runs
// two packages' tests at once), and the bind then fails with "address
// already in use". The kernel never hands out ports below the range.
const portFloor = 20000

// freePort returns a TCP port free on ip a moment ago.
func freePort(t *testing.T, ip string) int {
	t.Helper()
	port, _ := strconv.Atoi(freePortOnBoth(t, ip, ip))
	return port
}

// freePortOnBoth returns a TCP port free on both addresses, so two
// replicas behind one name can share it.
func freePortOnBoth(t *testing.T, a, b string) string {
	t.Helper()
	lo := ephemeralLow()
	for range 100 {
		port := "0" // the kernel's choice when the range leaves no room below it
		if lo-portFloor >= 1000 {
			port = strconv.Itoa(portFloor + rand.IntN(lo-portFloor))
		}
		la, err := net.Listen("tcp", net.JoinHostPort(a, port))
		if err != nil {
			continue
		}
		_, port, _ = net.SplitHostPort(la.Addr().String())
		if b == a {
			la.Close()
			return port
		}
		lb, err := net.Listen("tcp", net.JoinHostPort(b, port))
		la.Close()
		if err == nil {
			lb.Close()
			return port
		}
	}
	t.Fatalf("no port free on %s and %s", a, b)
	return ""
}

// ephemeralLow is the first port of the kernel's ephemeral range (Linux's
// net.ipv4.ip_local_port_range; 32768, its default, elsewhere).
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if f := strings.Fields(string(b)); err == nil && len(f) > 0 {
		if lo, err := strconv.Atoi(f[0]); err == nil {
			return lo
		}
	}
	return 32768
}
