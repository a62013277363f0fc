package envoytest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// RequireEnv names the variable that turns a missing envoy binary from a
// skip into a failure, so CI cannot pass by not running these tests.
const RequireEnv = "TRELLIS_REQUIRE_ENVOY"

// validateTimeout bounds one `envoy --mode validate` run; it normally
// takes well under a second.
const validateTimeout = time.Minute

// Binary returns the path of the envoy binary, skipping the test when it
// is missing unless TRELLIS_REQUIRE_ENVOY=1.
func Binary(t testing.TB) string {
	t.Helper()
	path, err := exec.LookPath("envoy")
	if err != nil {
		if os.Getenv(RequireEnv) == "1" {
			t.Fatalf("envoy not found on PATH and %s=1: %v", RequireEnv, err)
		}
		t.Skipf("envoy not found on PATH (set %s=1 to require it): %v", RequireEnv, err)
	}
	return path
}

// Validate writes a bootstrap (YAML) to a temporary file and runs
// `envoy --mode validate` on it, failing the test with Envoy's output when
// Envoy rejects it.
func Validate(t testing.TB, bootstrapYAML []byte) {
	t.Helper()
	bin := Binary(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "envoy.yaml")
	if err := os.WriteFile(path, bootstrapYAML, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), validateTimeout)
	defer cancel()
	// Without hot restart Envoy reserves no shared-memory region, so
	// parallel runs cannot collide on it.
	cmd := exec.CommandContext(ctx, bin, "--mode", "validate", "-c", path,
		"--disable-hot-restart", "--log-level", "warn")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("envoy rejected the configuration: %v\n%s\nconfiguration:\n%s", err, out, bootstrapYAML)
	}
}
