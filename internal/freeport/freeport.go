package freeport

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
)

// Floor is the lowest port picked: below it sit well-known services.
const Floor = 20000

const (
	// minRoom is the fewest ports [Floor, EphemeralLow()) must hold to be
	// used; with fewer, the kernel chooses (":0").
	minRoom = 1000
	// tries bounds the picks: each is a random port checked on every host.
	tries = 100
	// defaultLow is Linux's default start of the ephemeral range, used
	// where the range cannot be read.
	defaultLow = 32768
	rangeFile  = "/proc/sys/net/ipv4/ip_local_port_range"
)

// Port returns a TCP port that was free on every one of hosts (IP
// addresses or names, at least one) a moment ago, picked below the
// kernel's ephemeral range (see the package doc), so that several
// listeners, for instance two replicas behind one name, can share it.
func Port(hosts ...string) (int, error) {
	return pick(EphemeralLow(), net.Listen, hosts)
}

// Addr returns "host:port" for a TCP port free on host a moment ago,
// picked as Port picks it.
func Addr(host string) (string, error) {
	port, err := Port(host)
	if err != nil {
		return "", err
	}
	return net.JoinHostPort(host, strconv.Itoa(port)), nil
}

// EphemeralLow is the first port of the kernel's ephemeral range, Linux's
// net.ipv4.ip_local_port_range; 32768, Linux's default, where that cannot
// be read or parsed.
func EphemeralLow() int {
	b, err := os.ReadFile(rangeFile)
	if err != nil {
		return defaultLow
	}
	lo, _, err := parseRange(string(b))
	if err != nil {
		return defaultLow
	}
	return lo
}

// parseRange parses ip_local_port_range's text: two ports, low then high.
func parseRange(s string) (lo, hi int, err error) {
	f := strings.Fields(s)
	if len(f) != 2 {
		return 0, 0, fmt.Errorf("port range %q: want two fields", s)
	}
	if lo, err = parsePort(f[0]); err == nil {
		hi, err = parsePort(f[1])
	}
	if err != nil {
		return 0, 0, fmt.Errorf("port range %q: %w", s, err)
	}
	if lo > hi {
		return 0, 0, fmt.Errorf("port range %q: low above high", s)
	}
	return lo, hi, nil
}

func parsePort(s string) (int, error) {
	p, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("port %q: %w", s, err)
	}
	if p < 1 || p > 65535 {
		return 0, fmt.Errorf("port %d out of 1-65535", p)
	}
	return p, nil
}

// listenFunc is net.Listen, replaced in tests.
type listenFunc func(network, address string) (net.Listener, error)

// pick tries up to tries random ports in [Floor, lo), or the kernel's
// choice when that holds fewer than minRoom, until one is free on every
// host.
func pick(lo int, listen listenFunc, hosts []string) (int, error) {
	hosts = distinct(hosts)
	if len(hosts) == 0 {
		return 0, errors.New("freeport: no host given")
	}
	var last error
	for range tries {
		port := 0 // the kernel's choice when the range leaves no room below it
		if lo-Floor >= minRoom {
			port = Floor + rand.IntN(lo-Floor)
		}
		got, err := tryPort(listen, port, hosts)
		if err == nil {
			return got, nil
		}
		last = err
	}
	return 0, fmt.Errorf("freeport: no port free on %s in %d tries: %w", strings.Join(hosts, " and "), tries, last)
}

// distinct returns hosts without repeats, in order: a host named twice is
// checked once.
func distinct(hosts []string) []string {
	var out []string
	for _, h := range hosts {
		if !slices.Contains(out, h) {
			out = append(out, h)
		}
	}
	return out
}

// tryPort binds port (0: the kernel's choice on the first host) on every
// host at once, then releases them all, and returns the port bound.
func tryPort(listen listenFunc, port int, hosts []string) (int, error) {
	var held []net.Listener
	defer func() {
		for _, ln := range held {
			ln.Close()
		}
	}()
	for _, h := range hosts {
		ln, err := listen("tcp", net.JoinHostPort(h, strconv.Itoa(port)))
		if err != nil {
			return 0, err
		}
		held = append(held, ln)
		addr, ok := ln.Addr().(*net.TCPAddr)
		if !ok {
			return 0, fmt.Errorf("listener on %s: address %v is not TCP", h, ln.Addr())
		}
		port = addr.Port
	}
	return port, nil
}
