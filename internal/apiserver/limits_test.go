package apiserver

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// serveLimited serves a handler that reads the whole body under limits on
// loopback and returns its address and limiter.
func serveLimited(t *testing.T, limits ConnLimits) (string, *ConnLimiter) {
	t.Helper()
	lim := NewConnLimiter(limits, slog.New(slog.DiscardHandler))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			w.WriteHeader(http.StatusRequestTimeout)
			return
		}
		io.WriteString(w, "ok")
	})}
	lim.Configure(srv)
	done := make(chan struct{})
	go func() { srv.Serve(lim.Listener(ln)); close(done) }()
	t.Cleanup(func() { srv.Close(); <-done })
	return ln.Addr().String(), lim
}

func value(t *testing.T, c prometheus.Collector) float64 {
	t.Helper()
	r := prometheus.NewPedanticRegistry()
	r.MustRegister(c)
	mfs, err := r.Gather()
	if err != nil || len(mfs) != 1 {
		t.Fatalf("gather: %v", err)
	}
	m := mfs[0].GetMetric()[0]
	if g := m.GetGauge(); g != nil {
		return g.GetValue()
	}
	return m.GetCounter().GetValue()
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// get sends one GET on c and returns the status code.
func get(t *testing.T, c net.Conn) int {
	t.Helper()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// waitClosed waits (up to 10 s) until the server closes c.
func waitClosed(t *testing.T, c net.Conn) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("the server kept the connection open")
	}
}

// eventually polls cond for up to 10 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// TestMaxConns: MaxConns idle connections are held; one more is answered
// 503 and closed; when one closes, a new connection is served.
func TestMaxConns(t *testing.T) {
	const max = 3
	addr, lim := serveLimited(t, ConnLimits{MaxConns: max})
	var held []net.Conn
	for range max {
		c := dial(t, addr)
		if code := get(t, c); code != http.StatusOK {
			t.Fatalf("connection within the bound: status %d", code)
		}
		held = append(held, c)
	}
	if v := value(t, lim.open); v != max {
		t.Fatalf("open = %v at the bound", v)
	}
	over := dial(t, addr)
	over.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(over), nil)
	if err != nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("connection over the bound: %v, %v", resp, err)
	}
	waitClosed(t, over)
	if v := value(t, lim.rejected); v != 1 {
		t.Fatalf("rejected = %v", v)
	}
	held[0].Close()
	eventually(t, "a slot to free", func() bool { return value(t, lim.open) == max-1 })
	if code := get(t, dial(t, addr)); code != http.StatusOK {
		t.Fatalf("after a close: status %d", code)
	}
}

// TestSlowBody: a client that stops sending its body is cut off at
// ReadTimeout and counted.
func TestSlowBody(t *testing.T) {
	addr, lim := serveLimited(t, ConnLimits{ReadTimeout: 300 * time.Millisecond})
	c := dial(t, addr)
	fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n%s", strings.Repeat("a", 10))
	waitClosed(t, c)
	eventually(t, "the read timeout to be counted", func() bool { return value(t, lim.readTO) == 1 })
	if v := value(t, lim.idleTO); v != 0 {
		t.Fatalf("idle timeouts = %v", v)
	}
	eventually(t, "the slot to free", func() bool { return value(t, lim.open) == 0 })
}

// TestSlowHeaders: headers that never end are cut off too.
func TestSlowHeaders(t *testing.T) {
	addr, lim := serveLimited(t, ConnLimits{ReadHeaderTimeout: 300 * time.Millisecond})
	c := dial(t, addr)
	fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\n")
	waitClosed(t, c)
	eventually(t, "the header timeout to be counted", func() bool { return value(t, lim.readTO) == 1 })
}

// TestIdleTimeout: a keep-alive connection without a next request is
// closed after IdleTimeout and counted as idle.
func TestIdleTimeout(t *testing.T) {
	addr, lim := serveLimited(t, ConnLimits{IdleTimeout: 300 * time.Millisecond})
	c := dial(t, addr)
	if code := get(t, c); code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	waitClosed(t, c)
	eventually(t, "the idle timeout to be counted", func() bool { return value(t, lim.idleTO) == 1 })
	if v := value(t, lim.readTO); v != 0 {
		t.Fatalf("read timeouts = %v", v)
	}
}

func TestConnLimitsDefaults(t *testing.T) {
	got := NewConnLimiter(ConnLimits{}, nil).Limits()
	want := ConnLimits{DefaultReadHeaderTimeout, DefaultReadTimeout, DefaultIdleTimeout, DefaultMaxConns}
	if got != want {
		t.Fatalf("defaults = %+v, want %+v", got, want)
	}
}
