package demo

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trellis-mesh/trellis/internal/server"
)

// TestKeepHints runs the hints as printed in a shell: curl against a
// stand-in gateway, the aws CLI against a real server, and the trellis
// binary by its path (here a script that records its arguments, since
// building the binary is TestDemo's job).
func TestKeepHints(t *testing.T) {
	srv, err := server.Start(server.Config{DataDir: t.TempDir(), APIAddr: "127.0.0.1:0", Region: demoRegion,
		AccountID: "123456789012", Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), ShutdownTimeout: time.Second,
		Auth: server.AuthConfig{Enabled: true}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Stop() })
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "green") }))
	t.Cleanup(gw.Close)
	dir := filepath.Join(t.TempDir(), "dir with space")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "trellis")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\necho \"trellis $*\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	hints := keepHints(bin, gw.URL+"/color", "http://"+srv.Addr(), srv.AdminCredentialsFile())
	env := append(os.Environ(), "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null",
		"AWS_DEFAULT_REGION=", "AWS_REGION=", "AWS_ACCESS_KEY_ID=", "AWS_SECRET_ACCESS_KEY=", "AWS_PAGER=", "AWS_MAX_ATTEMPTS=1")
	for _, h := range hints {
		tool := ""
		for _, f := range strings.Fields(h) {
			if !strings.Contains(f, "=") {
				tool = f
				break
			}
		}
		isBin := strings.Contains(h, shellQuote(bin)+" get ")
		if !isBin {
			if _, err := exec.LookPath(tool); err != nil {
				if tool == "aws" && os.Getenv("TRELLIS_REQUIRE_AWSCLI") == "1" {
					t.Fatalf("aws CLI missing under TRELLIS_REQUIRE_AWSCLI=1")
				}
				t.Logf("skipping %q: %s not installed", h, tool)
				continue
			}
		}
		cmd := exec.Command("sh", "-c", h)
		cmd.Dir = t.TempDir() // any directory
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("%s: %v\n%s", h, err, out)
			continue
		}
		if isBin && !strings.HasPrefix(string(out), "trellis get routes --mesh color") {
			t.Errorf("%s ran the binary with %q", h, out)
		}
		t.Logf("%s\n%s", h, out)
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"/usr/bin/trellis": "/usr/bin/trellis",
		"/tmp/a b/trellis": "'/tmp/a b/trellis'",
		"/tmp/it's":        `'/tmp/it'\''s'`,
	} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %q, want %q", in, got, want)
		}
	}
}
