package server_test

import (
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/appmesh"

	"github.com/trellis-mesh/trellis/internal/auth/awscreds"
	"github.com/trellis-mesh/trellis/internal/server"
	"github.com/trellis-mesh/trellis/internal/store/etcd/etcdtest"
)

// TestReplicasWithAuth: replicas on one etcd with authentication on and
// one shared --auth-key-file. The first replica bootstraps the admin key;
// a call signed with it works through the second replica too, because
// principals and sealed secrets live in the shared store.
func TestReplicasWithAuth(t *testing.T) {
	c := etcdtest.Start(t, 1)
	keyFile := filepath.Join(t.TempDir(), "auth.key")
	start := func() *server.Server {
		cfg := config(t.TempDir())
		cfg.Auth.Enabled, cfg.Auth.KeyFile = true, keyFile
		cfg.Store = server.StoreConfig{Kind: server.StoreEtcd, EtcdEndpoints: c.Endpoints(), EtcdPrefix: "/auth/"}
		s, err := server.Start(cfg)
		if err != nil {
			t.Fatalf("server.Start: %v", err)
		}
		t.Cleanup(func() { _ = s.Stop() })
		return s
	}
	a := start()
	b := start()
	if a.AdminCredentialsFile() == "" || b.AdminCredentialsFile() != "" {
		t.Fatalf("admin credentials written by A %q and B %q; want by the first replica only",
			a.AdminCredentialsFile(), b.AdminCredentialsFile())
	}
	creds, err := awscreds.FromFile(a.AdminCredentialsFile(), "default")
	if err != nil {
		t.Fatal(err)
	}
	client := func(s *server.Server) *appmesh.Client {
		return appmesh.New(appmesh.Options{Region: testRegion, BaseEndpoint: aws.String("http://" + s.Addr()),
			Credentials: awscreds.Provider{Creds: creds}})
	}
	if _, err := client(a).CreateMesh(t.Context(), &appmesh.CreateMeshInput{MeshName: aws.String("shop")}); err != nil {
		t.Fatalf("signed CreateMesh through A: %v", err)
	}
	if _, err := client(b).DescribeMesh(t.Context(), &appmesh.DescribeMeshInput{MeshName: aws.String("shop")}); err != nil {
		t.Fatalf("signed DescribeMesh through B with A's bootstrap key: %v", err)
	}
}
