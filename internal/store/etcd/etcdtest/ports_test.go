package etcdtest

import (
	"net"
	"strconv"
	"testing"

	"github.com/trellis-mesh/trellis/internal/freeport"
)

// TestFreeAddrBelowEphemeralRange: member ports come from below the
// kernel's ephemeral range and are free, on loopback.
func TestFreeAddrBelowEphemeralRange(t *testing.T) {
	lo := freeport.EphemeralLow()
	if lo-freeport.Floor < 1000 {
		t.Skipf("ephemeral range starts at %d: freeAddr falls back to kernel-chosen ports", lo)
	}
	seen := map[string]bool{}
	for range 20 {
		addr := freeAddr(t)
		host, p, err := net.SplitHostPort(addr)
		port, _ := strconv.Atoi(p)
		if err != nil || host != "127.0.0.1" || port < freeport.Floor || port >= lo {
			t.Fatalf("freeAddr = %s, want 127.0.0.1:[%d,%d)", addr, freeport.Floor, lo)
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatalf("%s not free: %v", addr, err)
		}
		ln.Close()
		seen[addr] = true
	}
	if len(seen) < 2 {
		t.Errorf("20 picks gave %d distinct addresses", len(seen))
	}
}
