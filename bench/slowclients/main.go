// Command slowclients measures the API port of a real `trellis server`
// under clients that send their request body slowly: it opens -conns
// connections that each send headers and a few bytes of a large body and
// then stall, and prints how many were held and how many refused (503),
// the server's resident memory before, while they are held and after, and
// when the server cut the held ones off. It asserts nothing.
//
//	go build -o bin/trellis ./cmd/trellis && go run ./bench/slowclients -trellis bin/trellis
package main

import (
	"bufio"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/trellis-mesh/trellis/internal/freeport"
)

func main() {
	var (
		trellis     = flag.String("trellis", "bin/trellis", "trellis binary")
		conns       = flag.Int("conns", 8000, "slow connections to open")
		readTimeout = flag.Duration("read-timeout", 5*time.Second, "--api-read-timeout of the server")
		maxConns    = flag.Int("max-conns", 1024, "--api-max-connections of the server")
	)
	flag.Parse()
	if err := run(*trellis, *conns, *readTimeout, *maxConns); err != nil {
		fmt.Fprintln(os.Stderr, "slowclients:", err)
		os.Exit(1)
	}
}

func run(bin string, n int, readTimeout time.Duration, maxConns int) error {
	dir, err := os.MkdirTemp("", "slowclients-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	addr, srv, err := startServer(bin, dir, readTimeout, maxConns)
	if err != nil {
		return err
	}
	defer func() { srv.Process.Kill(); srv.Wait() }()
	before := rssKB(srv.Process.Pid)

	var refused, cut, other atomic.Int64
	var lastCut atomic.Int64 // ns since start
	var wg sync.WaitGroup
	start := time.Now()
	for range n {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			other.Add(1)
			continue
		}
		fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"a\":")
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			c.SetReadDeadline(time.Now().Add(readTimeout + 30*time.Second))
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			switch {
			case err == nil && resp.StatusCode == http.StatusServiceUnavailable:
				refused.Add(1)
			case err != nil && strings.Contains(err.Error(), "timeout"):
				other.Add(1) // still open when we gave up
			default: // the server answered or closed after its read timeout
				cut.Add(1)
				for t := int64(time.Since(start)); ; {
					old := lastCut.Load()
					if t <= old || lastCut.CompareAndSwap(old, t) {
						break
					}
				}
			}
		}()
	}
	opened := time.Since(start)
	time.Sleep(time.Second)
	held := rssKB(srv.Process.Pid)
	wg.Wait()
	after := rssKB(srv.Process.Pid)
	fmt.Printf("connections opened: %d in %v (server: --api-max-connections %d, --api-read-timeout %v)\n", n, opened.Round(time.Millisecond), maxConns, readTimeout)
	fmt.Printf("refused at once (503): %d\n", refused.Load())
	fmt.Printf("held, then cut off by the server: %d, the last %v after the first dial\n", cut.Load(), time.Duration(lastCut.Load()).Round(time.Millisecond))
	fmt.Printf("other (dial error or still open at the end): %d\n", other.Load())
	fmt.Printf("server RSS: %d KB before, %d KB while held (+%d KB, %.1f KB per held connection), %d KB after\n",
		before, held, held-before, float64(held-before)/float64(max(cut.Load(), 1)), after)
	return nil
}

// startServer runs `trellis server` on a free loopback port without xDS.
func startServer(bin, dir string, readTimeout time.Duration, maxConns int) (string, *exec.Cmd, error) {
	// The server binds it a moment later: freeport picks below the
	// ephemeral range, where no outgoing connection takes it meanwhile.
	addr, err := freeport.Addr("127.0.0.1")
	if err != nil {
		return "", nil, err
	}
	cmd := exec.Command(bin, "server", "--auth=false", "--data-dir", filepath.Join(dir, "data"), "--api-addr", addr, "--xds-addr", "",
		"--api-read-timeout", readTimeout.String(), "--api-max-connections", strconv.Itoa(maxConns), "--log-level", "error")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	for end := time.Now().Add(15 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
			resp.Body.Close()
			return addr, cmd, nil
		}
	}
	cmd.Process.Kill()
	cmd.Wait()
	return "", nil, fmt.Errorf("server on %s did not answer /healthz", addr)
}

// rssKB is a process's resident set size (VmRSS) in KB, 0 if unknown.
func rssKB(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			v, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return v
		}
	}
	return 0
}
