package registryapi

import (
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	sd "github.com/aws/aws-sdk-go-v2/service/servicediscovery"
	"github.com/aws/smithy-go/middleware"

	"github.com/trellis-mesh/trellis/internal/registry"
)

// docBlock returns the shell block of docs/cloud-map.md between the
// "begin: cli commands" and "end: cli commands" markers.
func docBlock(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile("../../docs/cloud-map.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	_, rest, ok := strings.Cut(doc, "<!-- begin: cli commands")
	block, _, ok2 := strings.Cut(rest, "<!-- end: cli commands")
	if !ok || !ok2 {
		t.Fatal("docs/cloud-map.md: cli commands markers not found")
	}
	_, block, _ = strings.Cut(block, "```sh\n")
	block, _, _ = strings.Cut(block, "```")
	return block
}

// TestDocCLICommands runs the aws CLI commands of docs/cloud-map.md as
// printed (only the endpoint is this test's server) against a service
// with one instance, and checks that they reach the server.
func TestDocCLICommands(t *testing.T) {
	requireAWSCLI(t)
	url, ctx := serve(t, registry.Options{})
	c := sd.New(sd.Options{Region: "us-east-1", BaseEndpoint: aws.String(url),
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", ""),
		APIOptions:  []func(*middleware.Stack) error{NoHostPrefix}})
	nsID := namespace(t, c, ctx, "apps.local")
	svc := must[*sd.CreateServiceOutput](t)(c.CreateService(ctx, &sd.CreateServiceInput{Name: aws.String("color"), NamespaceId: aws.String(nsID)}))
	must[*sd.RegisterInstanceOutput](t)(c.RegisterInstance(ctx, &sd.RegisterInstanceInput{ServiceId: svc.Service.Id, InstanceId: aws.String("blue-1"),
		Attributes: map[string]string{"AWS_INSTANCE_IPV4": "10.0.0.1"}}))

	script := "set -e\n" + strings.ReplaceAll(docBlock(t), "http://127.0.0.1:9080", url)
	cmd := exec.Command("bash", "-c", script)
	// Only the user's aws configuration is kept out, and retries are off
	// so a failure is quick; the block sets everything else.
	dir := t.TempDir()
	cmd.Env = append(os.Environ(), "AWS_CONFIG_FILE="+dir+"/config", "AWS_SHARED_CREDENTIALS_FILE="+dir+"/credentials",
		"AWS_MAX_ATTEMPTS=1", "AWS_PAGER=", "AWS_DISABLE_HOST_PREFIX_INJECTION=", "AWS_DEFAULT_REGION=", "AWS_ACCESS_KEY_ID=")
	out, err := cmd.CombinedOutput()
	t.Logf("%s", out)
	if err != nil {
		t.Fatalf("the documented commands failed: %v", err)
	}
	if !strings.Contains(string(out), `"blue-1"`) || !strings.Contains(string(out), `"InstancesRevision"`) {
		t.Fatalf("documented commands did not return the instance and the revision")
	}
}

// TestDataHostServed: a call whose Host is the data- prefixed name (what
// the SDKs send DiscoverInstances to) is served like any other, so a DNS
// name data-<host> pointing at the server works.
func TestDataHostServed(t *testing.T) {
	url, _ := serve(t, registry.Options{})
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Host = "data-" + strings.TrimPrefix(url, "http://")
	req.Header.Set("X-Amz-Target", TargetPrefix+"ListNamespaces")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d for Host %s", resp.StatusCode, req.Host)
	}
}
