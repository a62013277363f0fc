package server_test

import (
	"bytes"
	"io"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/appmesh"

	"github.com/trellis-mesh/trellis/internal/backup"
	etcdstore "github.com/trellis-mesh/trellis/internal/store/etcd"
	"github.com/trellis-mesh/trellis/internal/store/etcd/etcdtest"
)

// TestBackupRestoreEtcd: the backup of a replica on etcd (while replicas
// hold the election) restores into an empty prefix, and a replica there
// serves the same resources, uids and versions.
func TestBackupRestoreEtcd(t *testing.T) {
	c := etcdtest.Start(t, 1)
	src, _ := startReplica(t, c, "/bk-src/")
	cl := retryingClient(src.Addr())
	mustMesh(t, cl)
	created, err := cl.CreateVirtualNode(t.Context(), &appmesh.CreateVirtualNodeInput{MeshName: aws.String(testMesh),
		VirtualNodeName: aws.String("n"), Spec: dnsNode("n.local")})
	if err != nil {
		t.Fatalf("CreateVirtualNode: %v", err)
	}
	resp, err := http.Get("http://" + src.Addr() + backup.Path)
	if err != nil {
		t.Fatalf("GET %s: %v", backup.Path, err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s = %d, %v", backup.Path, resp.StatusCode, err)
	}
	dst, err := etcdstore.Open(t.Context(), etcdstore.Options{Endpoints: c.Endpoints(), Prefix: "/bk-dst/"})
	if err != nil {
		t.Fatalf("open target: %v", err)
	}
	h, err := backup.Restore(t.Context(), dst, bytes.NewReader(body))
	dst.Close()
	if err != nil {
		t.Fatalf("Restore: %v", err)
	}
	restored, _ := startReplica(t, c, "/bk-dst/")
	got, err := retryingClient(restored.Addr()).DescribeVirtualNode(t.Context(), &appmesh.DescribeVirtualNodeInput{
		MeshName: aws.String(testMesh), VirtualNodeName: aws.String("n")})
	if err != nil {
		t.Fatalf("DescribeVirtualNode after restore: %v", err)
	}
	if aws.ToString(got.VirtualNode.Metadata.Uid) != aws.ToString(created.VirtualNode.Metadata.Uid) ||
		aws.ToInt64(got.VirtualNode.Metadata.Version) != aws.ToInt64(created.VirtualNode.Metadata.Version) {
		t.Fatalf("restored node %+v, created %+v", got.VirtualNode.Metadata, created.VirtualNode.Metadata)
	}
	t.Logf("backup of revision %d (%d bytes) restored into another prefix", h.Revision, len(body))
}
