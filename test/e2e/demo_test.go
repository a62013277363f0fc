package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestDemo builds the trellis binary, runs `trellis demo` (server, apps,
// sidecars and gateway as child processes), checks the three measured
// splits (each printed once), that it confirms stopping, and that no
// child outlives it.
func TestDemo(t *testing.T) {
	envoyBinary(t)
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output()
	if err != nil {
		t.Fatalf("go list -m: %v", err)
	}
	root := strings.TrimSpace(string(out))
	bin := filepath.Join(t.TempDir(), "trellis")
	build := exec.Command("go", "build", "-o", bin, "./cmd/trellis")
	build.Dir = root
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "demo")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	t.Logf("stdout:\n%s", stdout.String())
	if err != nil {
		t.Fatalf("trellis demo: %v\nstderr:\n%s", err, stderr.String())
	}

	if !strings.Contains(stdout.String(), "Stopped: all ") {
		t.Errorf("the demo did not confirm that it stopped")
	}
	// Auto-mTLS is on: the app names the gateway as its caller.
	if !strings.Contains(stdout.String(), "saw its caller as spiffe://trellis.local/mesh/color/virtualGateway/ingress") {
		t.Errorf("the demo did not show the caller's SPIFFE id over mTLS")
	}
	re := regexp.MustCompile(`(\d+)/(\d+) target: blue (\d+) green (\d+)`)
	got := re.FindAllStringSubmatch(stdout.String(), -1)
	if len(got) != 3 {
		t.Fatalf("found %d measured splits, want 3", len(got))
	}
	wants := [][2]int{{90, 10}, {50, 50}, {0, 100}}
	for i, m := range got {
		bw, _ := strconv.Atoi(m[1])
		gw, _ := strconv.Atoi(m[2])
		blue, _ := strconv.Atoi(m[3])
		green, _ := strconv.Atoi(m[4])
		if bw != wants[i][0] || gw != wants[i][1] {
			t.Errorf("phase %d is %d/%d, want %d/%d", i, bw, gw, wants[i][0], wants[i][1])
			continue
		}
		n := blue + green
		if gw == 100 {
			if green != n || n == 0 {
				t.Errorf("0/100: blue %d green %d, want every request green", blue, green)
			}
			continue
		}
		within3Sigma(t, "green (weight "+m[2]+")", green, n, float64(gw)/100)
	}

	// Nothing the demo started may remain.
	deadline := time.Now().Add(3 * time.Second)
	for {
		left := processesMentioning(bin)
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("processes left behind: %v", left)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// processesMentioning lists the command lines under /proc containing s.
func processesMentioning(s string) []string {
	var out []string
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		if _, err := strconv.Atoi(d.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", d.Name(), "cmdline"))
		if err != nil || !bytes.Contains(b, []byte(s)) {
			continue
		}
		out = append(out, d.Name()+": "+strings.ReplaceAll(string(b), "\x00", " "))
	}
	return out
}
