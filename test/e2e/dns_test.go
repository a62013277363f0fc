package e2e

import (
	"encoding/binary"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
)

// startDNS serves, over UDP on loopback, A records for one name: every
// address in ips. Other questions get an empty NOERROR answer (AAAA of the
// name) or NXDOMAIN. It is just enough DNS for Envoy's c-ares resolver to
// give a STRICT_DNS cluster several addresses behind one name.
func startDNS(t *testing.T, name string, ips []string) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		buf := make([]byte, 512)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return // closed
			}
			if resp := dnsAnswer(buf[:n], name, ips); resp != nil {
				_, _ = pc.WriteTo(resp, from)
			}
		}
	})
	t.Cleanup(func() { pc.Close(); wg.Wait() })
	return pc.LocalAddr().String()
}

// dnsAnswer builds the response to one query, or nil for a malformed one.
func dnsAnswer(q []byte, name string, ips []string) []byte {
	if len(q) < 12 || binary.BigEndian.Uint16(q[4:6]) != 1 {
		return nil
	}
	// The question: labels, then type and class.
	i, labels := 12, []string{}
	for i < len(q) && q[i] != 0 {
		l := int(q[i])
		if l > 63 || i+1+l > len(q) {
			return nil
		}
		labels = append(labels, string(q[i+1:i+1+l]))
		i += 1 + l
	}
	if i+5 > len(q) {
		return nil
	}
	qtype := binary.BigEndian.Uint16(q[i+1 : i+3])
	qend := i + 5
	resp := append([]byte{}, q[:qend]...)
	resp[2] = 0x84 | q[2]&0x01 // QR, AA, keep RD
	resp[3] = 0x00
	binary.BigEndian.PutUint16(resp[8:10], 0)  // NSCOUNT
	binary.BigEndian.PutUint16(resp[10:12], 0) // ARCOUNT
	if !strings.EqualFold(strings.Join(labels, "."), strings.TrimSuffix(name, ".")) {
		resp[3] = 0x03 // NXDOMAIN
		binary.BigEndian.PutUint16(resp[6:8], 0)
		return resp
	}
	var answers uint16
	if qtype == 1 { // A
		for _, ip := range ips {
			a := netip.MustParseAddr(ip).As4()
			resp = append(resp, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 1, 0, 4) // name ptr, A, IN, TTL 1, len 4
			resp = append(resp, a[:]...)
			answers++
		}
	}
	binary.BigEndian.PutUint16(resp[6:8], answers)
	return resp
}
