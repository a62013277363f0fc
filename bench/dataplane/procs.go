package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/trellis-mesh/trellis/internal/freeport"
)

// stopTimeout bounds how long a child gets after SIGTERM before SIGKILL.
const stopTimeout = 10 * time.Second

// processes are the child processes of one run; stopAll stops them in
// reverse start order (sidecars before the server) and waits for each.
type processes struct {
	log  *slog.Logger
	cmds []*exec.Cmd
}

// start runs bin with args, its output appended to logPath.
func (p *processes) start(logPath, bin string, args ...string) error {
	f, err := os.Create(logPath)
	if err != nil {
		return fmt.Errorf("child log: %w", err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	err = cmd.Start()
	f.Close() // the child has its own copy
	if err != nil {
		return fmt.Errorf("start %s: %w", filepath.Base(bin), err)
	}
	p.cmds = append(p.cmds, cmd)
	return nil
}

func (p *processes) stopAll() {
	for i := len(p.cmds) - 1; i >= 0; i-- {
		cmd := p.cmds[i]
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(stopTimeout):
			p.log.Warn("child did not stop on SIGTERM; killing it", "cmd", cmd.Path, "pid", cmd.Process.Pid)
			_ = cmd.Process.Kill()
			<-done
		}
	}
	p.cmds = nil
}

// freePort returns a port free on ip at the time of the call, for Envoy or
// the server to bind later: freeport picks below the kernel's ephemeral
// range, where no outgoing connection takes it meanwhile.
func freePort(ip string) (int, error) {
	port, err := freeport.Port(ip)
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	return port, nil
}

// startApp serves a fixed body of size bytes on ip:port.
func startApp(ip string, port, size int) (*http.Server, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
	if err != nil {
		return nil, fmt.Errorf("app listen: %w", err)
	}
	body := []byte(strings.Repeat("x", size))
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/plain")
		w.Write(body)
	}), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintln(os.Stderr, "app:", err)
		}
	}()
	return srv, nil
}

// waitServing polls url with Host: serviceHost until it answers 200.
func waitServing(ctx context.Context, url string, timeout time.Duration) error {
	c := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		req.Host = serviceHost
		resp, err := c.Do(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		last = err
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("%s not serving after %v: %w", url, timeout, last)
}
