package main

import (
	"bufio"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/trellis-mesh/trellis/bench/internal/adsclient"
)

// record is one child line "rds <proxy> <weights> <unix ns>".
type record struct {
	proxy int
	key   string
	at    int64
}

// counts is one child line "stats …": responses received per type, and
// their bytes, since the child started.
type counts struct{ cds, lds, rds, eds, bytes int64 }

func (c counts) minus(o counts) counts {
	return counts{c.cds - o.cds, c.lds - o.lds, c.rds - o.rds, c.eds - o.eds, c.bytes - o.bytes}
}

// fleet is the parent's end of the child process.
type fleet struct {
	n     int
	child *adsclient.Child
	recs  chan record
	stats chan counts
}

// startFleet starts n simulated proxies in a child process against the
// xDS address.
func startFleet(xdsAddr string, n int, delta bool, cpuProfile string, extra ...string) (*fleet, error) {
	args := append([]string{"-child", xdsAddr, "-clients", strconv.Itoa(n)}, extra...)
	if delta {
		args = append(args, "-delta")
	}
	if cpuProfile != "" {
		args = append(args, "-child-cpuprofile", cpuProfile)
	}
	c, err := adsclient.StartChild(nil, args...)
	if err != nil {
		return nil, err
	}
	f := &fleet{n: n, child: c, recs: make(chan record, 4*n+16), stats: make(chan counts, 1)}
	go f.read()
	return f, nil
}

// read parses the child's lines until its stdout ends, then closes recs.
func (f *fleet) read() {
	defer close(f.recs)
	sc := bufio.NewScanner(f.child.Stdout)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		switch {
		case len(fields) == 4 && fields[0] == "rds":
			i, _ := strconv.Atoi(fields[1])
			at, _ := strconv.ParseInt(fields[3], 10, 64)
			f.recs <- record{proxy: i, key: fields[2], at: at}
		case len(fields) == 6 && fields[0] == "stats":
			var v [5]int64
			for k := range v {
				v[k], _ = strconv.ParseInt(fields[k+1], 10, 64)
			}
			f.stats <- counts{v[0], v[1], v[2], v[3], v[4]}
		}
	}
}

// waitKey waits until every wanted proxy got route 0 with weights key and
// returns each one's latency from t0 (others are left out).
func (f *fleet) waitKey(key string, want []bool, t0 time.Time, timeout time.Duration) ([]time.Duration, error) {
	n := 0
	for _, w := range want {
		if w {
			n++
		}
	}
	lat := make([]time.Duration, 0, n)
	have := make([]bool, f.n)
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for len(lat) < n {
		select {
		case r, ok := <-f.recs:
			if !ok {
				return nil, fmt.Errorf("client process ended with %d of %d proxies at weights %s", len(lat), n, key)
			}
			if r.key != key || r.proxy < 0 || r.proxy >= f.n || !want[r.proxy] || have[r.proxy] {
				continue
			}
			have[r.proxy] = true
			lat = append(lat, time.Duration(r.at-t0.UnixNano()))
		case <-timer.C:
			return nil, fmt.Errorf("%d of %d proxies got weights %s within %v", len(lat), n, key, timeout)
		}
	}
	return lat, nil
}

// counts asks the child how many responses its proxies received so far.
func (f *fleet) counts() (counts, error) {
	if _, err := f.child.Stdin.Write([]byte("stats\n")); err != nil {
		return counts{}, fmt.Errorf("ask client process for stats: %w", err)
	}
	select {
	case c := <-f.stats:
		return c, nil
	case <-time.After(10 * time.Second):
		return counts{}, fmt.Errorf("client process did not report stats")
	}
}

// stop ends the child: its proxies disconnect and it exits.
func (f *fleet) stop() error {
	_ = f.child.Stdin.Close()
	for range f.recs { // until the child's stdout ends
	}
	return f.child.Stop()
}
