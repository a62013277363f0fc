package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/appmesh"
	"github.com/aws/aws-sdk-go-v2/service/appmesh/types"
)

// TestEgressFilter: under DROP_ALL a destination that is not a backend is
// refused; switching the mesh to ALLOW_ALL lets it through, live.
func TestEgressFilter(t *testing.T) {
	m := setupColor(t, 100, 0)
	external := startApp(t, "external", loopbackIP(), colorPort)
	eventually(t, 10*time.Second, m.c.expectBody(m.frontAddr, "color.local", "/", nil, "blue"))
	if code, body, _ := m.c.get(m.frontAddr, external.addr, "/", nil); code != 404 || external.hits.Load() != 0 {
		t.Fatalf("DROP_ALL: got %d %q and %d upstream hits, want 404 and none", code, body, external.hits.Load())
	}
	must[*appmesh.UpdateMeshOutput](t)(m.cp.client.UpdateMesh(m.cp.ctx, &appmesh.UpdateMeshInput{MeshName: aws.String("color"),
		Spec: &types.MeshSpec{EgressFilter: &types.EgressFilter{Type: types.EgressFilterTypeAllowAll}}}))
	eventually(t, 10*time.Second, m.c.expectBody(m.frontAddr, external.addr, "/", nil, "external"))
	// Modelled services keep their routing under ALLOW_ALL.
	if code, body, _ := m.c.get(m.frontAddr, "color.local", "/", nil); code != 200 || body != "blue" {
		t.Errorf("backend under ALLOW_ALL: %d %q", code, body)
	}
	// A Host that is not an address cannot be passed through without
	// interception, and must not loop back into Envoy.
	if code, _, _ := m.c.get(m.frontAddr, "unmodelled.example", "/", nil); code != 404 {
		t.Errorf("non-address host under ALLOW_ALL (no interception): %d, want 404", code)
	}
	must[*appmesh.UpdateMeshOutput](t)(m.cp.client.UpdateMesh(m.cp.ctx, &appmesh.UpdateMeshInput{MeshName: aws.String("color"),
		Spec: &types.MeshSpec{EgressFilter: &types.EgressFilter{Type: types.EgressFilterTypeDropAll}}}))
	eventually(t, 10*time.Second, func() error {
		if code, _, _ := m.c.get(m.frontAddr, external.addr, "/", nil); code != 404 {
			return fmt.Errorf("back to DROP_ALL: got %d, want 404", code)
		}
		return nil
	})
}
