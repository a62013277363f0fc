package main

import (
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trellis-mesh/trellis/internal/server"
)

// TestBackupSigned: against a server with authentication on, the online
// backup signs with the aws-style credentials and is refused without them.
func TestBackupSigned(t *testing.T) {
	s, err := server.Start(server.Config{DataDir: t.TempDir(), APIAddr: "127.0.0.1:0", Region: "us-east-1",
		AccountID: "111122223333", Logger: slog.New(slog.DiscardHandler), Auth: server.AuthConfig{Enabled: true}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Stop() })
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION"} {
		t.Setenv(k, "")
	}
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	if err := fetchBackup(t.Context(), "http://"+s.Addr(), io.Discard); err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("unsigned backup: %v", err)
	}
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", s.AdminCredentialsFile())
	if err := fetchBackup(t.Context(), "http://"+s.Addr(), io.Discard); err != nil {
		t.Fatalf("signed backup: %v", err)
	}
}
