package cli_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trellis-mesh/trellis/internal/server"
)

// startAuthServer runs a server with authentication on and points the
// aws-style credential variables at its bootstrapped admin key.
func startAuthServer(t *testing.T) string {
	t.Helper()
	s, err := server.Start(server.Config{
		DataDir: t.TempDir(), APIAddr: "127.0.0.1:0", Region: "us-east-1", AccountID: "123456789012",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Auth: server.AuthConfig{Enabled: true},
	})
	if err != nil {
		t.Fatalf("server.Start: %v", err)
	}
	t.Cleanup(func() { _ = s.Stop() })
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", s.AdminCredentialsFile())
	return "http://" + s.Addr()
}

// TestAdminVerbs: the bootstrapped admin creates a principal and key with
// `trellis admin`; that key signs CLI calls until it is disabled; policies
// attach and detach.
func TestAdminVerbs(t *testing.T) {
	ep := startAuthServer(t)
	const arn = "arn:aws:iam::123456789012:role/ci"
	mustRun(t, ep, "admin", "create-principal", arn)
	var created struct {
		AccessKey struct{ AccessKeyId, SecretAccessKey string }
	}
	if err := json.Unmarshal([]byte(mustRun(t, ep, "admin", "create-key", arn)), &created); err != nil || created.AccessKey.SecretAccessKey == "" {
		t.Fatalf("create-key: %+v %v", created, err)
	}
	policy := filepath.Join(t.TempDir(), "p.json")
	os.WriteFile(policy, []byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"appmesh:UpdateRoute","Resource":"arn:aws:appmesh:*:*:mesh/shop/*"}]}`), 0o600)
	mustRun(t, ep, "admin", "attach-policy", arn, "--name", "routes", "--file", policy)
	if out := mustRun(t, ep, "admin", "list-policies", arn); !strings.Contains(out, "appmesh:UpdateRoute") {
		t.Fatalf("list-policies: %s", out)
	}
	if out := mustRun(t, ep, "admin", "list-principals"); !strings.Contains(out, arn) || !strings.Contains(out, "user/admin") {
		t.Fatalf("list-principals: %s", out)
	}
	mustRun(t, ep, "admin", "detach-policy", arn, "--name", "routes")
	if out := mustRun(t, ep, "admin", "list-keys", arn); strings.Contains(out, created.AccessKey.SecretAccessKey) || !strings.Contains(out, created.AccessKey.AccessKeyId) {
		t.Fatalf("list-keys: %s", out)
	}

	asCI := func() {
		t.Setenv("AWS_ACCESS_KEY_ID", created.AccessKey.AccessKeyId)
		t.Setenv("AWS_SECRET_ACCESS_KEY", created.AccessKey.SecretAccessKey)
	}
	asCI()
	if _, err := run(t, ep, "", "get", "meshes"); err == nil || !strings.Contains(err.Error(), "AccessDeniedException") {
		t.Fatalf("no policy: %v", err)
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	os.WriteFile(policy, []byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["appmesh:List*","appmesh:Describe*"],"Resource":"*"}]}`), 0o600)
	mustRun(t, ep, "admin", "attach-policy", arn, "--name", "read", "--file", policy)
	asCI()
	mustRun(t, ep, "get", "meshes")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "wrong")
	if _, err := run(t, ep, "", "get", "meshes"); err == nil || !strings.Contains(err.Error(), "InvalidSignatureException") {
		t.Fatalf("wrong secret: %v", err)
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	mustRun(t, ep, "admin", "disable-key", created.AccessKey.AccessKeyId)
	t.Setenv("AWS_ACCESS_KEY_ID", created.AccessKey.AccessKeyId)
	t.Setenv("AWS_SECRET_ACCESS_KEY", created.AccessKey.SecretAccessKey)
	if _, err := run(t, ep, "", "get", "meshes"); err == nil || !strings.Contains(err.Error(), "UnrecognizedClientException") {
		t.Fatalf("disabled key: %v", err)
	}
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	if _, err := run(t, ep, "", "admin", "list-keys"); err == nil || !strings.Contains(err.Error(), "MissingAuthenticationTokenException") {
		t.Fatalf("unsigned: %v", err)
	}
}
