package etcdtest

import (
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
)

// portFloor is the lowest port freeAddr picks.
const portFloor = 20000

// freeAddr returns a loopback host:port that was free a moment ago. etcd
// binds it later (and binds it again when a killed member restarts), so
// the port is picked below the kernel's ephemeral range: a port there is
// never handed out for another process's outgoing connection or its
// "port 0" listener in the meantime, which on a CI machine running
// several packages' tests at once otherwise fails a member with "bind:
// address already in use". It falls back to a kernel-chosen port when the
// range leaves no room below it.
func freeAddr(t TB) string {
	t.Helper()
	if lo := ephemeralLow(); lo-portFloor >= 1000 {
		for range 100 {
			ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(portFloor+rand.IntN(lo-portFloor))))
			if err == nil {
				defer ln.Close()
				return ln.Addr().String()
			}
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("etcdtest: free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// ephemeralLow is the first port of the kernel's ephemeral range (Linux's
// net.ipv4.ip_local_port_range; 32768, its default, elsewhere).
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 32768
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 32768
	}
	lo, err := strconv.Atoi(f[0])
	if err != nil {
		return 32768
	}
	return lo
}
