package main

import (
	"bufio"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/trellis-mesh/trellis/bench/internal/adsclient"
	"github.com/trellis-mesh/trellis/internal/freeport"
	"github.com/trellis-mesh/trellis/internal/server"
)

// The storm benchmark runs the trellis server in a child process of its
// own, so that it can be killed with SIGKILL and restarted under a
// connected fleet, and so that its heap is its own. The child prints
// "ready" once listening, answers "heap" on stdin with "heap <bytes>"
// (HeapInuse after a collection), and stops gracefully when stdin closes.

// runServe is the server child: a trellis server on dir with the given
// API and xDS addresses.
func runServe(dir, apiAddr, xdsAddr, cpuProfile string) error {
	server.TuneGC()
	stopProfile, err := startProfile(cpuProfile)
	if err != nil {
		return err
	}
	defer stopProfile()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv, err := server.Start(server.Config{DataDir: dir, APIAddr: apiAddr, XDSAddr: xdsAddr,
		Region: region, AccountID: accountID, Logger: log})
	if err != nil {
		return err
	}
	fmt.Println("ready")
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		if sc.Text() == "heap" {
			fmt.Printf("heap %d\n", heapInUse())
		}
	}
	return srv.Stop()
}

// serverProc is the parent's end of a server child.
type serverProc struct {
	child *adsclient.Child
	lines chan string
}

// startServerProc starts a server child and waits until it listens.
func startServerProc(dir, apiAddr, xdsAddr, cpuProfile string) (*serverProc, error) {
	c, err := adsclient.StartChild(nil, "-serve", dir, "-api", apiAddr, "-xds", xdsAddr, "-cpuprofile", cpuProfile)
	if err != nil {
		return nil, err
	}
	p := &serverProc{child: c, lines: make(chan string, 16)}
	go func() {
		defer close(p.lines)
		sc := bufio.NewScanner(c.Stdout)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
	}()
	if _, err := p.expect("ready", waitTimeout); err != nil {
		_ = p.kill()
		return nil, err
	}
	return p, nil
}

// expect waits for a line starting with word and returns the rest.
func (p *serverProc) expect(word string, timeout time.Duration) (string, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		select {
		case line, ok := <-p.lines:
			if !ok {
				return "", fmt.Errorf("server process ended before %q", word)
			}
			if rest, found := strings.CutPrefix(line, word); found {
				return strings.TrimSpace(rest), nil
			}
		case <-t.C:
			return "", fmt.Errorf("server process: no %q within %v", word, timeout)
		}
	}
}

// heap asks the server for its heap in use.
func (p *serverProc) heap() (int64, error) {
	if _, err := p.child.Stdin.Write([]byte("heap\n")); err != nil {
		return 0, fmt.Errorf("ask server for heap: %w", err)
	}
	s, err := p.expect("heap", waitTimeout)
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(s, 10, 64)
}

// kill ends the server with SIGKILL.
func (p *serverProc) kill() error {
	err := p.child.Kill()
	for range p.lines {
	}
	return err
}

// stop shuts the server down gracefully.
func (p *serverProc) stop() error {
	_ = p.child.Stdin.Close()
	for range p.lines {
	}
	return p.child.Stop()
}

// freeAddr returns a loopback address no one listens on now, for the
// server child to bind: freeport picks below the kernel's ephemeral range,
// where no outgoing connection takes it before the child binds it.
func freeAddr() (string, error) {
	return freeport.Addr("127.0.0.1")
}
