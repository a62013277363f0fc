package auth

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trellis-mesh/trellis/internal/store/bolt"
)

func newTestKeys(t *testing.T) (*Keys, string) {
	t.Helper()
	dir := t.TempDir()
	st, err := bolt.Open(filepath.Join(dir, "trellis.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sealer, created, err := LoadOrCreateKeyFile(filepath.Join(dir, "auth.key"))
	if err != nil || !created {
		t.Fatalf("key file: created=%v err=%v", created, err)
	}
	return NewKeys(st, sealer), dir
}

func TestKeyFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "auth.key")
	s1, created, err := LoadOrCreateKeyFile(path)
	if err != nil || !created {
		t.Fatalf("create: %v %v", created, err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", fi.Mode().Perm())
	}
	s2, created, err := LoadOrCreateKeyFile(path)
	if err != nil || created {
		t.Fatalf("reload: %v %v", created, err)
	}
	sealed := s1.Seal("AKIA1", "secret")
	if bytesContain(sealed, "secret") {
		t.Fatal("secret visible in sealed bytes")
	}
	if got, err := s2.Open("AKIA1", sealed); err != nil || got != "secret" {
		t.Fatalf("open: %q %v", got, err)
	}
	if _, err := s2.Open("AKIA2", sealed); err == nil {
		t.Fatal("sealed secret opened under another key id")
	}
	os.Chmod(path, 0o644)
	if _, _, err := LoadOrCreateKeyFile(path); err == nil {
		t.Fatal("world-readable key file accepted")
	}
}

func bytesContain(b []byte, s string) bool { return strings.Contains(string(b), s) }

// TestKeysLifecycle: create, look up, disable, enable, expire, delete.
func TestKeysLifecycle(t *testing.T) {
	keys, _ := newTestKeys(t)
	ctx := context.Background()
	arn := "arn:aws:iam::111122223333:user/ci"
	if _, err := keys.CreateKey(ctx, arn, 0); !errors.Is(err, ErrNotFound) {
		t.Fatalf("key for missing principal: %v", err)
	}
	if _, err := keys.CreatePrincipal(ctx, "arn:aws:iam::1:user/x"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad arn: %v", err)
	}
	if _, err := keys.CreatePrincipal(ctx, arn); err != nil {
		t.Fatal(err)
	}
	if _, err := keys.CreatePrincipal(ctx, arn); !errors.Is(err, ErrExists) {
		t.Fatalf("duplicate principal: %v", err)
	}
	c, err := keys.CreateKey(ctx, arn, 0)
	if err != nil || !strings.HasPrefix(c.AccessKeyID, "AKIA") || len(c.AccessKeyID) != 20 || len(c.SecretAccessKey) != 40 {
		t.Fatalf("create key: %+v %v", c, err)
	}
	if s, key, err := keys.Secret(ctx, c.AccessKeyID, ""); err != nil || s != c.SecretAccessKey || key.PrincipalARN != arn {
		t.Fatalf("secret: %v", err)
	}
	if _, _, err := keys.Secret(ctx, c.AccessKeyID, "a-token"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("token on a long-term key: %v", err)
	}
	must(t, keys.SetKeyStatus(ctx, c.AccessKeyID, StatusInactive))
	if _, _, err := keys.Secret(ctx, c.AccessKeyID, ""); !errors.Is(err, ErrNotFound) {
		t.Fatalf("inactive key: %v", err)
	}
	must(t, keys.SetKeyStatus(ctx, c.AccessKeyID, StatusActive))
	tmp, err := keys.CreateKey(ctx, arn, time.Hour)
	if err != nil || !strings.HasPrefix(tmp.AccessKeyID, "ASIA") || tmp.SessionToken == "" {
		t.Fatalf("temporary: %+v %v", tmp, err)
	}
	if _, _, err := keys.Secret(ctx, tmp.AccessKeyID, ""); !errors.Is(err, ErrNotFound) {
		t.Fatalf("temporary key without token: %v", err)
	}
	if _, _, err := keys.Secret(ctx, tmp.AccessKeyID, tmp.SessionToken); err != nil {
		t.Fatalf("temporary key: %v", err)
	}
	keys.now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	if _, _, err := keys.Secret(ctx, tmp.AccessKeyID, tmp.SessionToken); !errors.Is(err, errExpired) {
		t.Fatalf("expired: %v", err)
	}
	list, err := keys.ListKeys(ctx, arn)
	if err != nil || len(list) != 2 || list[0].SealedSecret != nil {
		t.Fatalf("list: %+v %v", list, err)
	}
	raw, _ := json.Marshal(list)
	if strings.Contains(string(raw), c.SecretAccessKey) || strings.Contains(string(raw), "sealed") {
		t.Fatalf("list leaks secrets: %s", raw)
	}
	must(t, keys.DeleteKey(ctx, c.AccessKeyID))
	if _, _, err := keys.Secret(ctx, c.AccessKeyID, ""); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted: %v", err)
	}
}

func TestBootstrap(t *testing.T) {
	keys, dir := newTestKeys(t)
	ctx := context.Background()
	b, err := Bootstrap(ctx, keys, "111122223333", "us-east-1", dir)
	if err != nil || b == nil {
		t.Fatalf("bootstrap: %v", err)
	}
	fi, err := os.Stat(b.Path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("credentials file: %v %v", fi, err)
	}
	data, _ := os.ReadFile(b.Path)
	if !strings.Contains(string(data), "aws_access_key_id = "+b.AccessKeyID) {
		t.Fatalf("file: %s", data)
	}
	again, err := Bootstrap(ctx, keys, "111122223333", "us-east-1", dir)
	if err != nil || again != nil {
		t.Fatalf("second bootstrap: %+v %v", again, err)
	}
	p, _, err := keys.Principal(ctx, b.Principal)
	if err != nil || string(p.Policies["AdministratorAccess"]) != AdminPolicy {
		t.Fatalf("admin policy: %+v %v", p, err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
