package awscreds

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestResolve(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "credentials")
	os.WriteFile(file, []byte("# c\n[default]\naws_access_key_id = AKIADEF\naws_secret_access_key = s1\n\n[profile ci]\naws_access_key_id=AKIACI\naws_secret_access_key=s2\naws_session_token=tok\n"), 0o600)
	tests := []struct {
		name    string
		env     map[string]string
		akid    string
		token   string
		wantErr bool
	}{
		{name: "env", env: map[string]string{"AWS_ACCESS_KEY_ID": "AKIAENV", "AWS_SECRET_ACCESS_KEY": "x", "AWS_SHARED_CREDENTIALS_FILE": file}, akid: "AKIAENV"},
		{name: "env half set", env: map[string]string{"AWS_ACCESS_KEY_ID": "AKIAENV"}, wantErr: true},
		{name: "file default", env: map[string]string{"AWS_SHARED_CREDENTIALS_FILE": file}, akid: "AKIADEF"},
		{name: "file profile", env: map[string]string{"AWS_SHARED_CREDENTIALS_FILE": file, "AWS_PROFILE": "ci"}, akid: "AKIACI", token: "tok"},
		{name: "missing profile", env: map[string]string{"AWS_SHARED_CREDENTIALS_FILE": file, "AWS_PROFILE": "x"}, wantErr: true},
		{name: "home", env: map[string]string{"HOME": dir}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Resolve(func(k string) string { return tc.env[k] })
			if tc.wantErr {
				if err == nil {
					t.Fatalf("want error, got %+v", c)
				}
				return
			}
			if err != nil || c.AccessKeyID != tc.akid || c.SessionToken != tc.token {
				t.Fatalf("got %+v %v", c, err)
			}
		})
	}
	if _, err := Resolve(func(k string) string { return map[string]string{"HOME": dir}[k] }); !errors.Is(err, ErrNoCredentials) {
		t.Fatalf("no file: %v", err)
	}
	if r := Region(func(k string) string { return map[string]string{"AWS_DEFAULT_REGION": "eu-west-1"}[k] }, "us-east-1"); r != "eu-west-1" {
		t.Fatal(r)
	}
}
