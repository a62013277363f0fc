package registryapi

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/trellis-mesh/trellis/internal/registry"
)

// requireAWSCLI returns the aws CLI's path; without it the test skips,
// or fails when TRELLIS_REQUIRE_AWSCLI=1 (CI installs it: pip install
// awscli).
func requireAWSCLI(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("aws")
	if err == nil {
		return path
	}
	if os.Getenv("TRELLIS_REQUIRE_AWSCLI") == "1" {
		t.Fatalf("aws CLI not found and TRELLIS_REQUIRE_AWSCLI=1: pip install awscli (%v)", err)
	}
	t.Skip("aws CLI not found (pip install awscli); set TRELLIS_REQUIRE_AWSCLI=1 to make this a failure")
	return ""
}

// cliEnv is the environment docs/cloud-map.md prints for the aws CLI:
// region, placeholder credentials, no host prefix. The user's own aws
// configuration is kept out.
func cliEnv(t *testing.T) []string {
	dir := t.TempDir()
	return append(os.Environ(),
		"AWS_CONFIG_FILE="+filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "credentials"),
		"AWS_DEFAULT_REGION=us-west-2", "AWS_REGION=us-west-2",
		"AWS_ACCESS_KEY_ID=trellis", "AWS_SECRET_ACCESS_KEY=trellis",
		"AWS_DISABLE_HOST_PREFIX_INJECTION=true",
		"AWS_MAX_ATTEMPTS=1", "AWS_PAGER=")
}

// TestAWSCLI runs testdata/cloudmap-cli.sh, which calls all 30
// servicediscovery operations of the aws CLI (and some of their errors)
// against the API on loopback.
func TestAWSCLI(t *testing.T) {
	requireAWSCLI(t)
	url, _ := serve(t, registry.Options{})
	cmd := exec.Command("bash", "testdata/cloudmap-cli.sh", url)
	cmd.Env = cliEnv(t)
	out, err := cmd.CombinedOutput()
	t.Logf("%s", out)
	if err != nil {
		t.Fatalf("cloudmap-cli.sh: %v", err)
	}
}
