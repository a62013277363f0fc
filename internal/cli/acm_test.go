package cli_test

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/trellis-mesh/trellis/internal/acm/acmtest"
	"github.com/trellis-mesh/trellis/internal/cli"
)

func runACM(t *testing.T, endpoint string, args ...string) (string, error) {
	t.Helper()
	root := &cobra.Command{Use: "trellis", SilenceUsage: true, SilenceErrors: true}
	root.AddCommand(cli.ACMCommand())
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(io.Discard)
	root.SetArgs(append(append([]string{"acm"}, args...), "--endpoint", endpoint))
	err := root.Execute()
	return out.String(), err
}

// TestACMCommands drives trellis acm against a real server: import,
// register-ca, list (no key shown), replace, the validation errors the
// server reports, and delete.
func TestACMCommands(t *testing.T) {
	ep := startServer(t)
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ca, other := acmtest.NewCA(t, "ca"), acmtest.NewCA(t, "other")
	cert, key := ca.Leaf(t, "svc.shop.local")
	_, otherKey := other.Leaf(t, "x")
	certF, keyF, caF := write("c.pem", cert), write("k.pem", key), write("ca.pem", ca.CertPEM)
	const arn = "arn:aws:acm:us-east-1:123456789012:certificate/svc"
	const caARN = "arn:aws:acm-pca:us-east-1:123456789012:certificate-authority/shop"
	for _, tc := range []struct {
		args    []string
		wantOut string
		wantErr string
	}{
		{[]string{"import", "--arn", arn, "--cert", certF, "--key", keyF, "--chain", caF}, "imported " + arn, ""},
		{[]string{"import", "--arn", arn, "--cert", certF, "--key", keyF}, "imported " + arn, ""},
		{[]string{"register-ca", "--arn", caARN, "--bundle", caF}, "registered " + caARN, ""},
		{[]string{"import", "--arn", caARN, "--cert", certF, "--key", keyF}, "", "malformed ARN"},
		{[]string{"import", "--arn", arn, "--cert", certF, "--key", write("o.pem", otherKey)}, "", "private key"},
		{[]string{"register-ca", "--arn", caARN, "--bundle", certF}, "", "not a CA"},
		{[]string{"list"}, caARN, ""},
		{[]string{"request", "--arn", arn, "--domain", "svc.shop.local"}, "", "imported certificate"},
		{[]string{"request", "--arn", "arn:aws:acm:us-east-1:123456789012:certificate/issued", "--domain", "api.shop.local"}, "issued arn:aws:acm:us-east-1:123456789012:certificate/issued", ""},
		{[]string{"request", "--arn", "arn:aws:acm:us-east-1:123456789012:certificate/issued", "--domain", "api.shop.local"}, "issued", ""},
		{[]string{"delete", arn}, "deleted " + arn, ""},
		{[]string{"delete", arn}, "", "no such ARN"},
		{[]string{"delete", caARN}, "deleted " + caARN, ""},
		{[]string{"list"}, "ARN", ""},
	} {
		out, err := runACM(t, ep, tc.args...)
		switch {
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%v: err %v, want %q", tc.args, err, tc.wantErr)
		case tc.wantErr == "" && err != nil:
			t.Errorf("%v: %v", tc.args, err)
		case !strings.Contains(out, tc.wantOut):
			t.Errorf("%v: output %q, want %q", tc.args, out, tc.wantOut)
		}
		if strings.Contains(out, "PRIVATE KEY") {
			t.Errorf("%v printed a key", tc.args)
		}
	}
}

// TestACMCommandsSigned: with authentication on, trellis acm signs its
// calls with the admin's credentials; an unsigned call is refused.
func TestACMCommandsSigned(t *testing.T) {
	ep := startAuthServer(t)
	ca := acmtest.NewCA(t, "ca")
	bundle := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(bundle, ca.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	const caARN = "arn:aws:acm-pca:us-east-1:123456789012:certificate-authority/shop"
	if _, err := runACM(t, ep, "register-ca", "--arn", caARN, "--bundle", bundle); err != nil {
		t.Fatalf("signed register-ca: %v", err)
	}
	if out, err := runACM(t, ep, "list"); err != nil || !strings.Contains(out, caARN) {
		t.Fatalf("signed list: %v\n%s", err, out)
	}
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	if _, err := runACM(t, ep, "list"); err == nil || !strings.Contains(err.Error(), "MissingAuthenticationTokenException") {
		t.Fatalf("unsigned list: %v", err)
	}
}
