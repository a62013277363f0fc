package freeport

import (
	"errors"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
)

func TestParseRange(t *testing.T) {
	for _, tc := range []struct {
		in     string
		lo, hi int
		bad    bool
	}{
		{in: "32768\t60999\n", lo: 32768, hi: 60999},
		{in: "  1024 65535 ", lo: 1024, hi: 65535},
		{in: "40000 40000", lo: 40000, hi: 40000},
		{in: "", bad: true},
		{in: "\n", bad: true},
		{in: "32768", bad: true},
		{in: "32768 60999 1", bad: true},
		{in: "abc 60999", bad: true},
		{in: "32768 x", bad: true},
		{in: "0 60999", bad: true},
		{in: "-1 60999", bad: true},
		{in: "32768 70000", bad: true},
		{in: "60999 32768", bad: true},
		{in: "32768,60999", bad: true},
	} {
		lo, hi, err := parseRange(tc.in)
		if tc.bad {
			if err == nil {
				t.Errorf("parseRange(%q) = %d, %d, want an error", tc.in, lo, hi)
			}
			continue
		}
		if err != nil || lo != tc.lo || hi != tc.hi {
			t.Errorf("parseRange(%q) = %d, %d, %v, want %d, %d", tc.in, lo, hi, err, tc.lo, tc.hi)
		}
	}
}

// TestEphemeralLow agrees with the kernel's file, or is Linux's default
// where there is none.
func TestEphemeralLow(t *testing.T) {
	want := defaultLow
	if b, err := os.ReadFile(rangeFile); err == nil {
		if lo, _, err := parseRange(string(b)); err == nil {
			want = lo
		}
	}
	if got := EphemeralLow(); got != want {
		t.Errorf("EphemeralLow() = %d, want %d", got, want)
	}
}

// recorder is a listenFunc that records the addresses asked for and
// listens for real.
type recorder struct{ addrs []string }

func (r *recorder) listen(network, addr string) (net.Listener, error) {
	r.addrs = append(r.addrs, addr)
	return net.Listen(network, addr)
}

// TestPick: with room below the ephemeral range, the port comes from
// [Floor, lo) and is free on every host; without room, the kernel chooses
// (":0" on the first host).
func TestPick(t *testing.T) {
	for _, tc := range []struct {
		name     string
		lo       int
		hosts    []string
		fallback bool
		binds    int // listens per pick
	}{
		{name: "one host", lo: 30000, hosts: []string{"127.0.0.1"}, binds: 1},
		{name: "two hosts", lo: 30000, hosts: []string{"127.0.0.1", "127.0.0.2"}, binds: 2},
		{name: "a host named twice", lo: 30000, hosts: []string{"127.0.0.1", "127.0.0.1"}, binds: 1},
		{name: "room exactly", lo: Floor + minRoom, hosts: []string{"127.0.0.1"}, binds: 1},
		{name: "no room", lo: Floor + minRoom - 1, hosts: []string{"127.0.0.1"}, fallback: true, binds: 1},
		{name: "range below the floor", lo: 1024, hosts: []string{"127.0.0.1", "127.0.0.2"}, fallback: true, binds: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r recorder
			port, err := pick(tc.lo, r.listen, tc.hosts)
			if err != nil {
				t.Fatal(err)
			}
			if len(r.addrs) != tc.binds {
				t.Errorf("listened on %v, want %d addresses", r.addrs, tc.binds)
			}
			if first := r.addrs[0]; strings.HasSuffix(first, ":0") != tc.fallback {
				t.Errorf("first listen on %s, fallback to the kernel's choice: %v", first, tc.fallback)
			}
			if !tc.fallback && (port < Floor || port >= tc.lo) {
				t.Errorf("port %d, want [%d, %d)", port, Floor, tc.lo)
			}
			for _, h := range tc.hosts {
				ln, err := net.Listen("tcp", net.JoinHostPort(h, strconv.Itoa(port)))
				if err != nil {
					t.Fatalf("port %d not free on %s: %v", port, h, err)
				}
				ln.Close()
			}
		})
	}
}

// TestPickBound: when no port is ever free, pick gives up after tries
// picks, saying why.
func TestPickBound(t *testing.T) {
	busy := errors.New("address already in use")
	calls := 0
	listen := func(string, string) (net.Listener, error) { calls++; return nil, busy }
	for _, lo := range []int{30000, Floor} {
		calls = 0
		_, err := pick(lo, listen, []string{"127.0.0.1"})
		if !errors.Is(err, busy) || !strings.Contains(err.Error(), "in 100 tries") {
			t.Errorf("lo %d: err = %v, want the last listen error after 100 tries", lo, err)
		}
		if calls != tries {
			t.Errorf("lo %d: %d listens, want %d", lo, calls, tries)
		}
	}
}

// TestPickRetriesSecondHost: a port free on the first host but taken on
// the second is not returned; the next pick is tried.
func TestPickRetriesSecondHost(t *testing.T) {
	refused := 0
	listen := func(network, addr string) (net.Listener, error) {
		if strings.HasPrefix(addr, "127.0.0.2:") && refused < 3 {
			refused++
			return nil, errors.New("address already in use")
		}
		return net.Listen(network, addr)
	}
	port, err := pick(30000, listen, []string{"127.0.0.1", "127.0.0.2"})
	if err != nil || port < Floor || port >= 30000 || refused != 3 {
		t.Errorf("pick = %d, %v after %d refusals, want a port in [%d, 30000) after 3", port, err, refused, Floor)
	}
}

func TestNoHost(t *testing.T) {
	if _, err := Port(); err == nil {
		t.Error("Port() with no host: no error")
	}
}

// TestPortAndAddr: the exported calls use the kernel's real range.
func TestPortAndAddr(t *testing.T) {
	lo := EphemeralLow()
	inRange := func(port int) bool { return lo-Floor < minRoom || port >= Floor && port < lo }
	port, err := Port("127.0.0.1", "127.0.0.2")
	if err != nil || !inRange(port) {
		t.Errorf("Port = %d, %v; ephemeral range from %d", port, err, lo)
	}
	addr, err := Addr("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	host, p, err := net.SplitHostPort(addr)
	port, _ = strconv.Atoi(p)
	if err != nil || host != "127.0.0.1" || !inRange(port) {
		t.Errorf("Addr = %s; ephemeral range from %d", addr, lo)
	}
}
