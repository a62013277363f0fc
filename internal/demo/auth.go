package demo

import (
	"os"
	"path/filepath"
	"strings"
)

// credentialsEnv is the environment of the demo's CLI and sidecar children:
// the server runs with authentication on (its default) and bootstraps an
// admin key into <data dir>/admin-credentials; the children sign with it
// the way the aws CLI would, through AWS_SHARED_CREDENTIALS_FILE. Any
// credentials of the user's own environment are masked.
func credentialsEnv(dataDir string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
			"AWS_SHARED_CREDENTIALS_FILE", "AWS_REGION", "AWS_DEFAULT_REGION":
			continue
		}
		env = append(env, kv)
	}
	return append(env, "AWS_SHARED_CREDENTIALS_FILE="+credentialsFile(dataDir), "AWS_REGION="+demoRegion,
		"AWS_DEFAULT_REGION="+demoRegion)
}

// credentialsFile is where the server writes the first admin key.
func credentialsFile(dataDir string) string { return filepath.Join(dataDir, "admin-credentials") }
