package server_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trellis-mesh/trellis/internal/auth"
)

// awsCLI finds the aws CLI; with TRELLIS_REQUIRE_AWSCLI=1 (set by .ci/run)
// its absence fails the test instead of skipping it.
func awsCLI(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("aws")
	if err == nil {
		err = exec.Command(path, "--version").Run()
	}
	if err != nil {
		if os.Getenv("TRELLIS_REQUIRE_AWSCLI") == "1" {
			t.Fatalf("aws CLI required (TRELLIS_REQUIRE_AWSCLI=1) but unusable: %v (pip install awscli)", err)
		}
		t.Skipf("aws CLI not available (%v); pip install awscli", err)
	}
	return path
}

// TestAWSCLI: the real aws CLI, configured only by the variables the README
// shows, signs calls the server accepts; a wrong secret, an unknown key, a
// disabled key and another region fail with the AWS error codes.
func TestAWSCLI(t *testing.T) {
	aws := awsCLI(t)
	s, creds := startAuthServer(t, nil)
	endpoint := "http://" + s.Addr()
	home := t.TempDir() // no ~/.aws of the machine's user
	base := []string{"HOME=" + home, "PATH=" + os.Getenv("PATH"), "AWS_DEFAULT_REGION=" + testRegion,
		"AWS_REGION=" + testRegion, "AWS_EC2_METADATA_DISABLED=true", "AWS_PAGER="}
	keyEnv := func(id, secret string) []string {
		return append(append([]string{}, base...), "AWS_ACCESS_KEY_ID="+id, "AWS_SECRET_ACCESS_KEY="+secret)
	}
	ctx := context.Background()
	other, err := s.Keys().CreateKey(ctx, "arn:aws:iam::"+testAccount+":user/admin", 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Keys().SetKeyStatus(ctx, other.AccessKeyID, auth.StatusInactive); err != nil {
		t.Fatal(err)
	}
	fileEnv := append(append([]string{}, base...), "AWS_SHARED_CREDENTIALS_FILE="+filepath.Clean(s.AdminCredentialsFile()))
	tests := []struct {
		name string
		env  []string
		args []string
		want string // "" succeeds; else in stderr
	}{
		{"create-mesh with the admin credentials file", fileEnv, []string{"appmesh", "create-mesh", "--mesh-name", "shop"}, ""},
		{"list-meshes with env keys", keyEnv(creds.AccessKeyID, creds.SecretAccessKey), []string{"appmesh", "list-meshes"}, ""},
		{"cloud map", keyEnv(creds.AccessKeyID, creds.SecretAccessKey), []string{"servicediscovery", "list-namespaces"}, ""},
		{"wrong secret", keyEnv(creds.AccessKeyID, "wrong"), []string{"appmesh", "list-meshes"}, "InvalidSignatureException"},
		{"unknown key", keyEnv("AKIAUNKNOWN000000000", "x"), []string{"appmesh", "list-meshes"}, "UnrecognizedClientException"},
		{"disabled key", keyEnv(other.AccessKeyID, other.SecretAccessKey), []string{"appmesh", "delete-mesh", "--mesh-name", "shop"}, "UnrecognizedClientException"},
		{"other region", keyEnv(creds.AccessKeyID, creds.SecretAccessKey), []string{"appmesh", "list-meshes", "--region", "eu-west-1"}, "InvalidSignatureException"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, aws, append(tc.args, "--endpoint-url", endpoint, "--cli-read-timeout", "10")...)
			cmd.Env = tc.env
			var stderr strings.Builder
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("aws %v: %v\n%s", tc.args, err, stderr.String())
				}
				return
			}
			if err == nil || !strings.Contains(stderr.String(), tc.want) {
				t.Fatalf("aws %v: err %v, stderr %q, stdout %q; want %s", tc.args, err, stderr.String(), out, tc.want)
			}
		})
	}
}
