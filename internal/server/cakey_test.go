package server_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/trellis-mesh/trellis/internal/server"
)

// TestCASealKeyFile: with API auth on, a new data dir seals the CA with
// auth.key (no ca-seal.key is created) and reopens with it; a data dir
// whose CA was sealed with ca-seal.key before auth was turned on keeps
// opening with that file. --xds-mtls makes an unopenable CA fail Start.
func TestCASealKeyFile(t *testing.T) {
	for _, tc := range []struct {
		name       string
		authFirst  bool // auth on at the first start
		wantLegacy bool // ca-seal.key exists afterwards
	}{
		{"auth on: shares auth.key", true, false},
		{"ca-seal.key from before auth keeps working", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			start := func(authOn bool) {
				t.Helper()
				cfg := config(dir)
				cfg.Auth.Enabled = authOn
				cfg.XDSAddr = "127.0.0.1:0"
				cfg.CA = server.CAConfig{XDSMTLS: true}
				s, err := server.Start(cfg)
				if err != nil {
					t.Fatalf("start (auth %v): %v", authOn, err)
				}
				if err := s.Stop(); err != nil {
					t.Fatal(err)
				}
			}
			start(tc.authFirst)
			start(true)
			_, err := os.Stat(filepath.Join(dir, "ca-seal.key"))
			if legacy := !errors.Is(err, fs.ErrNotExist); legacy != tc.wantLegacy {
				t.Errorf("ca-seal.key exists = %v, want %v", legacy, tc.wantLegacy)
			}
			if _, err := os.Stat(filepath.Join(dir, "auth.key")); err != nil {
				t.Errorf("auth.key: %v", err)
			}
		})
	}
}
