package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// startProfiles starts a CPU profile of profileSeconds on every server
// (their metrics listeners, started with --metrics-pprof) and returns the
// function that waits for them; each is written to dir/<phase>-<i>.pprof.
// A phase shorter than the profile leaves idle time in it; a longer one is
// profiled over its first profileSeconds.
func startProfiles(dir, phase string, servers []string) (stop func()) {
	if dir == "" || len(servers) == 0 {
		return func() {}
	}
	var wg sync.WaitGroup
	for i, addr := range servers {
		wg.Go(func() {
			path := filepath.Join(dir, fmt.Sprintf("%s-%d.pprof", phase, i))
			if err := fetchProfile("http://"+addr+"/debug/pprof/profile?seconds="+fmt.Sprint(profileSeconds), path); err != nil {
				fmt.Fprintf(os.Stderr, "profile %s: %v\n", addr, err)
			}
		})
	}
	return wg.Wait
}

// profileSeconds is how long each CPU profile runs.
const profileSeconds = 8

func fetchProfile(url, path string) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: status %d", url, resp.StatusCode)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// counterSum scrapes every server's metrics listener and sums the named
// counter (0 when no server has a metrics listener).
func counterSum(servers []string, name string) float64 {
	var sum float64
	for _, addr := range servers {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for line := range strings.SplitSeq(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, name+" "); ok {
				f, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
				sum += f
			}
		}
	}
	return sum
}
