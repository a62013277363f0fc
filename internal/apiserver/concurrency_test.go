package apiserver_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/appmesh"
)

// TestConcurrentWriters races creates of distinct nodes and contended
// updates of one node (run under -race in CI): no create is lost, and every
// update gets its own version.
func TestConcurrentWriters(t *testing.T) {
	e := newEnv(t)
	e.mustMesh("m")
	e.mustNode("m", "hot")
	const writers, perWriter = 8, 10
	var wg sync.WaitGroup
	errs := make(chan error, writers*perWriter*2)
	for w := 0; w < writers; w++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for i := 0; i < perWriter; i++ {
				_, err := e.client.CreateVirtualNode(e.ctx, &appmesh.CreateVirtualNodeInput{MeshName: aws.String("m"),
					VirtualNodeName: aws.String(fmt.Sprintf("n-%d-%d", w, i)), Spec: dnsNode("x.local", 80)})
				errs <- err
			}
		}()
		go func() {
			defer wg.Done()
			for i := 0; i < perWriter; i++ {
				_, err := e.client.UpdateVirtualNode(e.ctx, &appmesh.UpdateVirtualNodeInput{MeshName: aws.String("m"),
					VirtualNodeName: aws.String("hot"), Spec: dnsNode(fmt.Sprintf("h-%d-%d.local", w, i), 80)})
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	list := appmesh.NewListVirtualNodesPaginator(e.client, &appmesh.ListVirtualNodesInput{MeshName: aws.String("m")})
	count := 0
	for list.HasMorePages() {
		page, err := list.NextPage(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		count += len(page.VirtualNodes)
	}
	if count != writers*perWriter+1 {
		t.Errorf("nodes = %d, want %d", count, writers*perWriter+1)
	}
	hot, err := e.client.DescribeVirtualNode(e.ctx, &appmesh.DescribeVirtualNodeInput{MeshName: aws.String("m"), VirtualNodeName: aws.String("hot")})
	if err != nil || *hot.VirtualNode.Metadata.Version != 1+writers*perWriter {
		t.Errorf("hot version = %v (%v), want %d", *hot.VirtualNode.Metadata.Version, err, 1+writers*perWriter)
	}
}
