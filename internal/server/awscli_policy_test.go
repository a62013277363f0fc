package server_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestAWSCLIPolicyAndExpiry: through the real aws CLI, a role holding an
// App Mesh policy ("only UpdateRoute in mesh shop, and read") may list but
// gets AccessDeniedException for a delete; an expired temporary key gets
// ExpiredTokenException.
func TestAWSCLIPolicyAndExpiry(t *testing.T) {
	awsPath := awsCLI(t)
	s, admin := startAuthServer(t, nil)
	ctx := context.Background()
	const role = "arn:aws:iam::" + testAccount + ":role/ci"
	if _, err := s.Keys().CreatePrincipal(ctx, role); err != nil {
		t.Fatal(err)
	}
	if err := s.Keys().SetPolicy(ctx, role, "routes", json.RawMessage(onlyUpdateRouteInShop)); err != nil {
		t.Fatal(err)
	}
	ci, err := s.Keys().CreateKey(ctx, role, 0)
	if err != nil {
		t.Fatal(err)
	}
	temp, err := s.Keys().CreateKey(ctx, "arn:aws:iam::"+testAccount+":user/admin", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	cli := awsRunner{path: awsPath, endpoint: "http://" + s.Addr(), home: t.TempDir()}
	adminEnv := cli.env(admin.AccessKeyID, admin.SecretAccessKey, "")
	ciEnv := cli.env(ci.AccessKeyID, ci.SecretAccessKey, "")
	if _, stderr, err := cli.run(t, adminEnv, "appmesh", "create-mesh", "--mesh-name", "shop"); err != nil {
		t.Fatalf("admin create-mesh: %v\n%s", err, stderr)
	}
	if out, stderr, err := cli.run(t, ciEnv, "appmesh", "list-meshes"); err != nil || !strings.Contains(out, `"shop"`) {
		t.Fatalf("ci list-meshes: %v, stdout %q, stderr %q", err, out, stderr)
	}
	if _, stderr, err := cli.run(t, ciEnv, "appmesh", "delete-mesh", "--mesh-name", "shop"); err == nil || !strings.Contains(stderr, "AccessDeniedException") {
		t.Fatalf("ci delete-mesh: err %v, stderr %q; want AccessDeniedException", err, stderr)
	}
	// The temporary key expires at most a second after its creation.
	time.Sleep(time.Until(*temp.Expiration) + 100*time.Millisecond)
	tempEnv := cli.env(temp.AccessKeyID, temp.SecretAccessKey, temp.SessionToken)
	if _, stderr, err := cli.run(t, tempEnv, "appmesh", "list-meshes"); err == nil || !strings.Contains(stderr, "ExpiredTokenException") {
		t.Fatalf("expired key: err %v, stderr %q; want ExpiredTokenException", err, stderr)
	}
	if _, stderr, err := cli.run(t, adminEnv, "appmesh", "describe-mesh", "--mesh-name", "shop"); err != nil {
		t.Fatalf("mesh gone after the denied delete: %v\n%s", err, stderr)
	}
}

// awsRunner runs the aws CLI against one endpoint with an empty HOME (no
// ~/.aws of the machine's user) and only the variables it is given.
type awsRunner struct{ path, endpoint, home string }

// env is the environment for a key (and session token, if not empty).
func (a awsRunner) env(akid, secret, token string) []string {
	e := []string{"HOME=" + a.home, "PATH=" + os.Getenv("PATH"), "AWS_DEFAULT_REGION=" + testRegion,
		"AWS_REGION=" + testRegion, "AWS_EC2_METADATA_DISABLED=true", "AWS_PAGER=", "AWS_MAX_ATTEMPTS=1",
		"AWS_ACCESS_KEY_ID=" + akid, "AWS_SECRET_ACCESS_KEY=" + secret}
	if token != "" {
		e = append(e, "AWS_SESSION_TOKEN="+token)
	}
	return e
}

// run runs aws args and returns its stdout, stderr and exit error.
func (a awsRunner) run(t *testing.T, env []string, args ...string) (string, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, a.path, append(args, "--endpoint-url", a.endpoint, "--cli-read-timeout", "10")...)
	cmd.Env = env
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	return string(out), stderr.String(), err
}
