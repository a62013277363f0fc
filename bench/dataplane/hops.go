package main

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
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

// dumpConfigs saves every Envoy's /config_dump as dir/<name>.json, to see
// what the two paths' configurations differ in.
func dumpConfigs(admins []envoyAdmin, dir string) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("dump dir: %w", err)
	}
	for _, a := range admins {
		resp, err := http.Get("http://" + a.addr + "/config_dump")
		if err != nil {
			return fmt.Errorf("envoy admin %s: %w", a.addr, err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return fmt.Errorf("config_dump of %s: %w", a.name, err)
		}
		name := strings.ReplaceAll(a.name, " ", "-") + ".json"
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
	}
	return nil
}
