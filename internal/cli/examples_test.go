package cli_test

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestExamplesApply applies every walkthrough under examples/ to a fresh
// server: each must apply cleanly, and re-applying must change nothing.
func TestExamplesApply(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "examples", "*", "*.yaml"))
	if err != nil || len(files) < 4 {
		t.Fatalf("examples: %v (%d files), want the color app and three walkthroughs", err, len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(filepath.Dir(f)), func(t *testing.T) {
			ep := startServer(t)
			out := mustRun(t, ep, "apply", "-f", f)
			if strings.Contains(out, "unchanged") || !strings.Contains(out, "created") {
				t.Fatalf("first apply of %s:\n%s", f, out)
			}
			again := mustRun(t, ep, "apply", "-f", f)
			for _, line := range strings.Split(strings.TrimSpace(again), "\n") {
				if !strings.HasSuffix(line, " unchanged") {
					t.Errorf("re-apply of %s changed something: %q", f, line)
				}
			}
		})
	}
}
