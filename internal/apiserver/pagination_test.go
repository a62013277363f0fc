package apiserver_test

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/appmesh"
	"github.com/aws/aws-sdk-go-v2/service/appmesh/types"
)

func TestPaginators(t *testing.T) {
	e := newEnv(t)
	e.mustMesh("big")
	const n = 230
	for i := 0; i < n; i++ {
		e.mustNode("big", fmt.Sprintf("node-%03d", i))
	}
	for _, limit := range []int32{0, 1, 7, 100} {
		t.Run(strconv.Itoa(int(limit)), func(t *testing.T) {
			in := &appmesh.ListVirtualNodesInput{MeshName: aws.String("big")}
			if limit > 0 {
				in.Limit = aws.Int32(limit)
			}
			p := appmesh.NewListVirtualNodesPaginator(e.client, in)
			seen, pages := map[string]bool{}, 0
			for p.HasMorePages() {
				page, err := p.NextPage(e.ctx)
				if err != nil {
					t.Fatal(err)
				}
				pages++
				if max := int(limit); (max > 0 && len(page.VirtualNodes) > max) || len(page.VirtualNodes) > 100 {
					t.Fatalf("page of %d items with limit %d", len(page.VirtualNodes), limit)
				}
				for _, r := range page.VirtualNodes {
					if seen[*r.VirtualNodeName] {
						t.Fatalf("%s listed twice", *r.VirtualNodeName)
					}
					seen[*r.VirtualNodeName] = true
				}
			}
			if len(seen) != n {
				t.Fatalf("listed %d of %d nodes in %d pages", len(seen), n, pages)
			}
		})
	}
	_, err := e.client.ListVirtualNodes(e.ctx, &appmesh.ListVirtualNodesInput{MeshName: aws.String("big"), Limit: aws.Int32(101)})
	wantErr[*types.BadRequestException](t, err)
	_, err = e.client.ListVirtualNodes(e.ctx, &appmesh.ListVirtualNodesInput{MeshName: aws.String("big"), NextToken: aws.String("garbage")})
	wantErr[*types.BadRequestException](t, err)
}

func TestListMeshesPaginator(t *testing.T) {
	e := newEnv(t)
	for i := 0; i < 12; i++ {
		e.mustMesh(fmt.Sprintf("mesh-%02d", i))
	}
	p := appmesh.NewListMeshesPaginator(e.client, &appmesh.ListMeshesInput{Limit: aws.Int32(5)})
	var names []string
	for p.HasMorePages() {
		page, err := p.NextPage(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range page.Meshes {
			names = append(names, *m.MeshName)
		}
	}
	if len(names) != 12 || names[0] != "mesh-00" || names[11] != "mesh-11" {
		t.Fatalf("meshes = %v", names)
	}
}

func TestTags(t *testing.T) {
	e := newEnv(t)
	c, ctx := e.client, e.ctx
	out, err := c.CreateMesh(ctx, &appmesh.CreateMeshInput{MeshName: aws.String("m"), Tags: []types.TagRef{{Key: aws.String("a"), Value: aws.String("1")}}})
	if err != nil {
		t.Fatal(err)
	}
	arn := out.Mesh.Metadata.Arn
	if _, err := c.TagResource(ctx, &appmesh.TagResourceInput{ResourceArn: arn, Tags: []types.TagRef{{Key: aws.String("a"), Value: aws.String("2")}, {Key: aws.String("b"), Value: aws.String("")}}}); err != nil {
		t.Fatal(err)
	}
	tags, err := c.ListTagsForResource(ctx, &appmesh.ListTagsForResourceInput{ResourceArn: arn})
	if err != nil || len(tags.Tags) != 2 || *tags.Tags[0].Value != "2" || *tags.Tags[1].Key != "b" {
		t.Fatalf("tags: %v %+v", err, tags)
	}
	if _, err := c.UntagResource(ctx, &appmesh.UntagResourceInput{ResourceArn: arn, TagKeys: []string{"a", "zzz"}}); err != nil {
		t.Fatal(err)
	}
	var many []types.TagRef
	for i := 0; i < 50; i++ {
		many = append(many, types.TagRef{Key: aws.String(fmt.Sprintf("k%d", i)), Value: aws.String("v")})
	}
	_, err = c.TagResource(ctx, &appmesh.TagResourceInput{ResourceArn: arn, Tags: many})
	wantErr[*types.TooManyTagsException](t, err)
	p := appmesh.NewListTagsForResourcePaginator(c, &appmesh.ListTagsForResourceInput{ResourceArn: arn, Limit: aws.Int32(1)})
	count := 0
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		count += len(page.Tags)
	}
	if count != 1 {
		t.Fatalf("after untag and refused tag: %d tags, want 1", count)
	}
	// Tags do not bump the version.
	d, _ := c.DescribeMesh(ctx, &appmesh.DescribeMeshInput{MeshName: aws.String("m")})
	if *d.Mesh.Metadata.Version != 1 {
		t.Errorf("version = %d after tagging", *d.Mesh.Metadata.Version)
	}
	_, err = c.ListTagsForResource(ctx, &appmesh.ListTagsForResourceInput{ResourceArn: aws.String("arn:aws:appmesh:us-west-2:123456789012:mesh/ghost")})
	wantErr[*types.NotFoundException](t, err)
	_, err = c.TagResource(ctx, &appmesh.TagResourceInput{ResourceArn: aws.String("not-an-arn"), Tags: many[:1]})
	wantErr[*types.BadRequestException](t, err)
}
