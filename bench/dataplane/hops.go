package main

import (
	"bufio"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// envoyAdmin is one Envoy of a path and its admin address.
type envoyAdmin struct{ name, addr string }

// downstreamRequests sums the requests Envoy's HTTP connection managers
// received (the admin listener's own excluded).
func downstreamRequests(addr string) (int64, error) {
	resp, err := http.Get("http://" + addr + "/stats?filter=" + url.QueryEscape(`^http\..*\.downstream_rq_total$`))
	if err != nil {
		return 0, fmt.Errorf("envoy admin %s: %w", addr, err)
	}
	defer resp.Body.Close()
	var n int64
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		name, v, ok := strings.Cut(sc.Text(), ": ")
		if !ok || strings.HasPrefix(name, "http.admin.") {
			continue
		}
		if x, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
			n += x
		}
	}
	return n, sc.Err()
}

// printHops shows that every request crossed both Envoys of its path.
func printHops(admins []envoyAdmin) error {
	fmt.Println("\nrequests received per Envoy (both hops of each path carried the load):")
	for _, a := range admins {
		n, err := downstreamRequests(a.addr)
		if err != nil {
			return err
		}
		fmt.Printf("  %-14s %9d\n", a.name, n)
	}
	return nil
}
