package server

import (
	"errors"
	"fmt"
)

// The background stages (registry, mesh view, reconcile, xDS servers) are
// owned errgroup-style: Stop cancels them and waits for every one, and a
// stage that ends on its own before Stop, with an error or without, is a
// failure of the server: the xDS side would stop following the store
// while the API kept accepting writes that never reach a proxy. The first
// such failure is logged and delivered on Failed; Run then stops the
// server and returns it.

// errStageStopped is a stage that returned without error before Stop.
var errStageStopped = errors.New("stopped unexpectedly")

// background runs a stage on a goroutine that Stop waits for.
func (s *Server) background(run func() error, name string) {
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		err := run()
		if s.stopping.Load() {
			if err != nil {
				s.log.Error(name+" stopped", "err", err)
			}
			return
		}
		if err == nil {
			err = errStageStopped
		}
		err = fmt.Errorf("%s: %w", name, err)
		s.log.Error("background stage failed; the server must stop", "stage", name, "err", err)
		select {
		case s.failed <- err:
		default: // an earlier failure is pending
		}
	}()
}

// Failed delivers the error of the first background stage that ended
// before Stop. A caller of Start should Stop the server when it does;
// Run does.
func (s *Server) Failed() <-chan error { return s.failed }
