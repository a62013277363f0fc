package server_test

import (
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/appmesh"

	"github.com/trellis-mesh/trellis/internal/server"
)

// TestReadyzBolt: with the embedded store the one replica is ready (and
// the leader) once its view has loaded, and stays ready across writes;
// with xDS disabled /readyz checks the store alone.
func TestReadyzBolt(t *testing.T) {
	for _, xds := range []string{"127.0.0.1:0", ""} {
		t.Run("xds="+xds, func(t *testing.T) {
			cfg := config(t.TempDir())
			cfg.XDSAddr = xds
			s, err := server.Start(cfg)
			if err != nil {
				t.Fatalf("server.Start: %v", err)
			}
			t.Cleanup(func() { _ = s.Stop() })
			waitReady(t, s)
			c := newClient(s.Addr())
			mustMesh(t, c)
			if _, err := c.CreateVirtualNode(t.Context(), &appmesh.CreateVirtualNodeInput{MeshName: aws.String(testMesh),
				VirtualNodeName: aws.String("n"), Spec: dnsNode("n.local")}); err != nil {
				t.Fatalf("CreateVirtualNode: %v", err)
			}
			code, body := readyz(t, s)
			if code != http.StatusOK || body["ready"] != true || body["leader"] != true {
				t.Fatalf("/readyz = %d %v, want 200, ready, leader", code, body)
			}
		})
	}
}

// TestReadyzOpenWithAuth: with authentication on, /readyz answers without
// credentials (load balancers probe it), while the API refuses them.
func TestReadyzOpenWithAuth(t *testing.T) {
	s, _ := startAuthServer(t, nil)
	waitReady(t, s)
	resp, err := http.Get("http://" + s.Addr() + "/v20190125/meshes")
	if err != nil {
		t.Fatalf("GET meshes: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("unsigned ListMeshes = %d, want 403", resp.StatusCode)
	}
}
