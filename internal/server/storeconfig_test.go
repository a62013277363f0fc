package server

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStoreConfigErrors: store settings that cannot work are refused at
// start with an error that says which setting.
func TestStoreConfigErrors(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		sc   StoreConfig
		want string
	}{
		{"unknown kind", StoreConfig{Kind: "consul"}, `unknown store "consul"`},
		{"etcd without endpoints", StoreConfig{Kind: StoreEtcd}, "needs --etcd-endpoints"},
		{"cert without key", StoreConfig{Kind: StoreEtcd, EtcdEndpoints: []string{"https://127.0.0.1:1"}, EtcdCert: "c.pem"}, "both --etcd-cert and --etcd-key"},
		{"unreadable cert", StoreConfig{Kind: StoreEtcd, EtcdEndpoints: []string{"https://127.0.0.1:1"}, EtcdCert: "/nonexistent/c.pem", EtcdKey: "/nonexistent/k.pem"}, "load etcd client certificate"},
		{"ca not PEM", StoreConfig{Kind: StoreEtcd, EtcdEndpoints: []string{"https://127.0.0.1:1"}, EtcdCA: notPEM}, "no PEM certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, _, err := openStore(Config{DataDir: dir, Store: tt.sc})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("openStore = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}
