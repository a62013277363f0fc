package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var nextIP atomic.Int32

// loopbackIP hands each proxy or app its own 127.p.x.y address, so every
// test can use fixed, readable ports. p comes from the process id: two
// e2e processes on one machine (a developer's run beside another's, a
// re-executed child) otherwise hand out the same addresses in the same
// order and collide on them ("bind: address already in use"). p is never
// 0, so the addresses stay clear of 127.0.0.1 and the demo's 127.0.x.y.
func loopbackIP() string {
	n := nextIP.Add(1)
	return fmt.Sprintf("127.%d.%d.%d", 1+os.Getpid()%250, 1+n/250, 1+n%250)
}

// app is a small HTTP upstream that answers with its name and counts
// requests.
type app struct {
	name  string
	addr  string
	hits  atomic.Int64
	hook  atomic.Pointer[func(w http.ResponseWriter, r *http.Request) bool]
	srv   *http.Server
	lastH atomic.Pointer[http.Header]
}

// startApp listens on ip:port. The response body is the app's name.
func startApp(t *testing.T, name, ip string, port int) *app {
	t.Helper()
	a := &app{name: name, addr: net.JoinHostPort(ip, strconv.Itoa(port))}
	ln, err := net.Listen("tcp", a.addr)
	if err != nil {
		t.Fatal(err)
	}
	a.srv = &http.Server{Handler: http.HandlerFunc(a.serve)}
	go a.srv.Serve(ln)
	t.Cleanup(func() { a.srv.Close() })
	return a
}

func (a *app) serve(w http.ResponseWriter, r *http.Request) {
	a.hits.Add(1)
	h := r.Header.Clone()
	h.Set("X-Seen-Host", r.Host)
	h.Set("X-Seen-Path", r.URL.RequestURI())
	a.lastH.Store(&h)
	if f := a.hook.Load(); f != nil && (*f)(w, r) {
		return
	}
	io.WriteString(w, a.name)
}

// onRequest installs a hook; returning true means the hook answered.
func (a *app) onRequest(f func(w http.ResponseWriter, r *http.Request) bool) { a.hook.Store(&f) }

// client sends requests to an Envoy egress listener with a Host header, the
// way an app addresses a virtual service.
type client struct {
	http *http.Client
}

func newClient() *client {
	return &client{http: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
}

// get sends GET http://addr+path with Host: host and returns status and body.
func (c *client) get(addr, host, path string, hdr map[string]string) (int, string, error) {
	return c.do("GET", addr, host, path, hdr)
}

func (c *client) do(method, addr, host, path string, hdr map[string]string) (int, string, error) {
	req, err := http.NewRequest(method, "http://"+addr+path, nil)
	if err != nil {
		return 0, "", err
	}
	req.Host = host
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// eventually retries f until it returns nil or the timeout passes; config
// reaches Envoy asynchronously.
func eventually(t *testing.T, timeout time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var err error
	for time.Now().Before(deadline) {
		if err = f(); err == nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("condition not met within %v: %v", timeout, err)
}

// expectBody is an eventually-condition: the request answers 200 with body.
func (c *client) expectBody(addr, host, path string, hdr map[string]string, want string) func() error {
	return func() error {
		code, body, err := c.get(addr, host, path, hdr)
		if err != nil {
			return err
		}
		if code != 200 || body != want {
			return fmt.Errorf("GET %s%s (Host %s) = %d %q, want 200 %q", addr, path, host, code, body, want)
		}
		return nil
	}
}

// load sends requests at a steady rate from several goroutines until ctx
// ends and counts statuses. Read the counts after wait.
type load struct {
	ok, failed atomic.Int64
	mu         sync.Mutex
	failures   map[string]int
	wg         sync.WaitGroup
}

func runLoad(ctx context.Context, c *client, addr, host string, rps, workers int) *load {
	l := &load{failures: map[string]int{}}
	interval := time.Duration(workers) * time.Second / time.Duration(rps)
	for i := range workers {
		l.wg.Go(func() {
			next := time.Now().Add(time.Duration(i) * interval / time.Duration(workers)) // staggered
			for pace(ctx, &next, interval) {
				code, body, err := c.get(addr, host, "/", nil)
				if ctx.Err() != nil && errors.Is(err, context.Canceled) {
					return
				}
				if err == nil && code == 200 {
					l.ok.Add(1)
					continue
				}
				l.failed.Add(1)
				l.mu.Lock()
				l.failures[fmt.Sprintf("%d %s %v", code, body, err)]++
				l.mu.Unlock()
			}
		})
	}
	return l
}

// pace waits for a worker's next send time, one interval after the last,
// and reports false once ctx ends. A worker whose request took longer than
// an interval sends its next one at once and catches up (a ticker would
// drop those ticks, and a loaded machine would offer less than the rate
// asked for); one more than a second behind starts over from now rather
// than bursting.
func pace(ctx context.Context, next *time.Time, interval time.Duration) bool {
	*next = next.Add(interval)
	d := time.Until(*next)
	if d < -time.Second {
		*next, d = time.Now(), 0
	}
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// wait returns once every worker has seen ctx end and counted its last
// request (requests do not carry ctx: one in flight finishes first, within
// the client's timeout). ctx must be done or about to be.
func (l *load) wait() { l.wg.Wait() }

// expectEach is an eventually-condition: within 50 requests, all 200,
// every body is seen. Split tests wait for it before they count, so that a
// target whose proxy is still being configured (its first requests fail
// over to the other after a retry one hop out) does not skew the count.
func (c *client) expectEach(addr, host, path string, bodies ...string) func() error {
	return func() error {
		seen := map[string]bool{}
		for range 50 {
			code, body, err := c.get(addr, host, path, nil)
			if err != nil || code != 200 {
				return fmt.Errorf("GET %s%s (Host %s) = %d %q %v", addr, path, host, code, body, err)
			}
			seen[body] = true
			if len(seen) == len(bodies) {
				break
			}
		}
		for _, b := range bodies {
			if !seen[b] {
				return fmt.Errorf("GET %s%s (Host %s): %q not seen in 50 requests (saw %v)", addr, path, host, b, seen)
			}
		}
		return nil
	}
}

// expectBodyIn is an eventually-condition: the request answers 200 with
// one of the bodies.
func (c *client) expectBodyIn(addr, host, path string, bodies ...string) func() error {
	return func() error {
		code, body, err := c.get(addr, host, path, nil)
		if err != nil {
			return err
		}
		for _, b := range bodies {
			if code == 200 && body == b {
				return nil
			}
		}
		return fmt.Errorf("GET %s%s (Host %s) = %d %q, want one of %v", addr, path, host, code, body, bodies)
	}
}
