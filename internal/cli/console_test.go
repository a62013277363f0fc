package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

func TestConsoleCommandFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		err  string
	}{
		{"non-loopback listen", []string{"--listen", "0.0.0.0:0"}, "loopback only"},
		{"bad endpoint", []string{"--endpoint", "ftp://x", "--listen", "127.0.0.1:0"}, "invalid endpoint"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cmd := ConsoleCommand(nil)
			cmd.SetArgs(tc.args)
			cmd.SetOut(&bytes.Buffer{})
			cmd.SetErr(&bytes.Buffer{})
			err := cmd.Execute()
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("err %v, want one containing %q", err, tc.err)
			}
		})
	}
}

// TestConsoleCommandRuns: it prints the local URL and stops with its context.
func TestConsoleCommandRuns(t *testing.T) {
	cmd := ConsoleCommand(nil)
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&bytes.Buffer{})
	cmd.SetArgs([]string{"--listen", "127.0.0.1:0", "--endpoint", "http://127.0.0.1:9"})
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	if err := cmd.ExecuteContext(ctx); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "Console: http://127.0.0.1:") || !strings.Contains(out.String(), "/ui/") {
		t.Fatalf("output %q lacks the console URL", out.String())
	}
}
