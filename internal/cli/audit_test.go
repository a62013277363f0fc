package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/trellis-mesh/trellis/internal/auth/audit"
	"github.com/trellis-mesh/trellis/internal/cli"
	"github.com/trellis-mesh/trellis/internal/golden"
)

// writeAudit fills an audit directory with a scripted session: alice
// creates a mesh and a route, the CI role shifts traffic, an anonymous
// caller is denied.
func writeAudit(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	l, err := audit.Open(audit.Options{Dir: dir, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	alice := audit.UserIdentity{Type: "IAMUser", ARN: "arn:aws:iam::111122223333:user/alice", AccessKeyID: "AKIAALICE", UserName: "alice"}
	ci := audit.UserIdentity{Type: "AssumedRole", ARN: "arn:aws:sts::111122223333:assumed-role/ci/run-7", AccessKeyID: "ASIACI"}
	mesh := "arn:aws:appmesh:us-east-1:111122223333:mesh/shop"
	route := mesh + "/virtualRouter/web/route/canary"
	recs := []audit.Record{
		{EventName: "CreateMesh", UserIdentity: alice, Resources: []audit.Resource{{ARN: mesh}}},
		{EventName: "CreateRoute", UserIdentity: alice, Resources: []audit.Resource{{ARN: route}}},
		{EventName: "UpdateRoute", UserIdentity: ci, Resources: []audit.Resource{{ARN: route}}},
		{EventName: "DeleteMesh", UserIdentity: audit.UserIdentity{Type: "Unknown"}, Resources: []audit.Resource{{ARN: mesh}},
			ErrorCode: "AccessDeniedException", ErrorMessage: "not authorized"},
	}
	for i, r := range recs {
		r.EventTime = time.Date(2026, 12, 6, 20, 0, 0, 0, time.UTC).Add(time.Duration(i) * 20 * time.Minute).Format(time.RFC3339)
		r.EventSource, r.SourceIPAddress, r.RequestID = "appmesh.amazonaws.com", "127.0.0.1", "req-"+string(rune('a'+i))
		if err := l.Append(context.Background(), &r); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func runAudit(t *testing.T, args ...string) (string, error) {
	t.Helper()
	now := func() time.Time { return time.Date(2026, 12, 6, 21, 10, 0, 0, time.UTC) }
	root := &cobra.Command{Use: "trellis", SilenceUsage: true, SilenceErrors: true}
	root.AddCommand(cli.AuditCommand(now))
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(io.Discard)
	root.SetArgs(append([]string{"audit"}, args...))
	err := root.Execute()
	return out.String(), err
}

func TestAuditTable(t *testing.T) {
	dir := writeAudit(t)
	out, err := runAudit(t, "--dir", dir)
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "testdata/audit_table.golden", []byte(out), *update)
}

func TestAuditFilters(t *testing.T) {
	dir := writeAudit(t)
	tests := []struct {
		name string
		args []string
		want string // request IDs
	}{
		{"all", nil, "req-a req-b req-c req-d"},
		{"since duration", []string{"--since", "45m"}, "req-c req-d"},
		{"until RFC 3339", []string{"--until", "2026-12-06T20:40:00Z"}, "req-a req-b"},
		{"principal ARN", []string{"--principal", "arn:aws:iam::111122223333:user/alice"}, "req-a req-b"},
		{"principal access key", []string{"--principal", "ASIACI"}, "req-c"},
		{"event", []string{"--event", "UpdateRoute"}, "req-c"},
		{"resource", []string{"--resource", "route/canary"}, "req-b req-c"},
		{"combined", []string{"--resource", "mesh/shop", "--since", "2026-12-06T20:30:00Z", "--event", "DeleteMesh"}, "req-d"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := runAudit(t, append([]string{"--dir", dir, "-o", "json"}, tt.args...)...)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			dec := json.NewDecoder(strings.NewReader(out))
			for dec.More() {
				var r audit.Record
				if err := dec.Decode(&r); err != nil {
					t.Fatal(err)
				}
				ids = append(ids, r.RequestID)
			}
			if got := strings.Join(ids, " "); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestAuditFlagErrors(t *testing.T) {
	dir := writeAudit(t)
	for _, args := range [][]string{
		{},
		{"--dir", dir, "-o", "yaml"},
		{"--dir", dir, "--since", "yesterday"},
		{"--dir", dir, "--until", "-5m"},
		{"--dir", dir + "/missing"},
	} {
		t.Setenv("TRELLIS_AUDIT_DIR", "")
		if _, err := runAudit(t, args...); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}
