package server

import (
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// TestDeadStageStopsServer: when the mesh view's store watch dies (here
// the store is closed under it), the failure reaches the server (Failed,
// and Run would stop) instead of the API accepting writes that never
// reach proxies.
func TestDeadStageStopsServer(t *testing.T) {
	s, err := Start(Config{DataDir: t.TempDir(), APIAddr: "127.0.0.1:0", XDSAddr: "127.0.0.1:0",
		Region: "us-west-2", AccountID: "123456789012", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	if err := s.store.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-s.Failed():
		if err == nil || !(strings.HasPrefix(err.Error(), "meshview") || strings.HasPrefix(err.Error(), "registry") ||
			strings.HasPrefix(err.Error(), "acm") || strings.HasPrefix(err.Error(), "history recorder")) {
			t.Fatalf("Failed = %v, want the mesh view's (or registry's, ACM view's, or history recorder's) error", err)
		}
		t.Logf("stage failure: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("no stage failure reported after the store watch died")
	}
}

// TestStageStoppedWithoutErrorIsAFailure: a stage that returns nil before
// Stop is reported too; after Stop nothing is.
func TestStageStoppedWithoutErrorIsAFailure(t *testing.T) {
	s := &Server{log: slog.New(slog.NewTextHandler(io.Discard, nil)), failed: make(chan error, 1)}
	s.background(func() error { return nil }, "reconcile")
	s.bg.Wait()
	select {
	case err := <-s.Failed():
		if !errors.Is(err, errStageStopped) || !strings.HasPrefix(err.Error(), "reconcile") {
			t.Fatalf("Failed = %v", err)
		}
	default:
		t.Fatal("no failure reported")
	}
	s.stopping.Store(true)
	s.background(func() error { return errors.New("late") }, "reconcile")
	s.bg.Wait()
	select {
	case err := <-s.Failed():
		t.Fatalf("failure %v reported after Stop", err)
	default:
	}
}
