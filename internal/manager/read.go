package manager

import (
	"context"
	"encoding/base64"
	"strings"

	"github.com/trellis-mesh/trellis/internal/apis/appmesh"
	"github.com/trellis-mesh/trellis/internal/store"
)

// Describe returns one resource or NotFoundException.
func (m *Manager) Describe(ctx context.Context, id appmesh.Identity) (*appmesh.Resource, error) {
	r, _, err := m.load(ctx, id)
	if err != nil {
		return nil, err
	}
	if r == nil {
		return nil, notFound(id, m.account)
	}
	return &r.Resource, nil
}

// ListInput is a List* request. Parent is the router or gateway for routes
// and gateway routes.
type ListInput struct {
	Kind      appmesh.Kind
	Mesh      string
	Parent    string
	Limit     int
	NextToken string
}

// ListOutput is one page. NextToken is empty on the last page.
type ListOutput struct {
	Items     []*appmesh.Resource
	NextToken string
}

// DefaultPageSize is the page size when a List names no limit (App Mesh:
// "up to 100 items").
const DefaultPageSize = 100

// List returns a page of resources of a kind in name order. The parents
// (mesh; router or gateway) must exist.
func (m *Manager) List(ctx context.Context, in ListInput) (*ListOutput, error) {
	if err := m.listParentsExist(ctx, in); err != nil {
		return nil, err
	}
	prefix := collectionPrefix(in.Kind, in.Mesh, in.Parent)
	after, err := decodePageToken(in.NextToken, prefix)
	if err != nil {
		return nil, err
	}
	limit := in.Limit
	if limit <= 0 {
		limit = DefaultPageSize
	}
	kvs, _, err := m.st.List(ctx, prefix, store.ListOptions{After: after, Limit: limit + 1})
	if err != nil {
		return nil, internal("store list failed", err)
	}
	out := &ListOutput{}
	if len(kvs) > limit {
		kvs = kvs[:limit]
		out.NextToken = encodePageToken(kvs[limit-1].Key)
	}
	for _, kv := range kvs {
		r, err := decodeRecord(kv.Value)
		if err != nil {
			return nil, internal("stored resource is corrupt", err)
		}
		out.Items = append(out.Items, &r.Resource)
	}
	return out, nil
}

func (m *Manager) listParentsExist(ctx context.Context, in ListInput) error {
	if in.Kind == appmesh.KindMesh {
		return nil
	}
	ids := []appmesh.Identity{meshID(in.Mesh)}
	if p := in.Kind.Parent(); p != 0 {
		ids = append(ids, appmesh.Identity{Kind: p, Mesh: in.Mesh, Name: in.Parent})
	}
	for _, id := range ids {
		r, _, err := m.load(ctx, id)
		if err != nil {
			return err
		}
		if r == nil {
			return notFound(id, m.account)
		}
	}
	return nil
}

// Page tokens are the last key of the previous page, versioned and encoded
// so clients treat them as opaque.
const pageTokenVersion = "v1:"

func encodePageToken(lastKey string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(pageTokenVersion + lastKey))
}

func decodePageToken(tok, prefix string) (string, error) {
	if tok == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(tok)
	key, ok := strings.CutPrefix(string(b), pageTokenVersion)
	if err != nil || !ok || !strings.HasPrefix(key, prefix) {
		return "", errorf(CodeBadRequest, "nextToken: is not a token returned by this list operation")
	}
	return key, nil
}

// CheckMeshOwner accepts an empty meshOwner or this server's account. Other
// accounts' meshes do not exist here.
func (m *Manager) CheckMeshOwner(meshOwner string, mesh string) error {
	if meshOwner == "" || meshOwner == m.account {
		return nil
	}
	if len(meshOwner) != 12 {
		return errorf(CodeBadRequest, "meshOwner: length must be 12")
	}
	return errorf(CodeNotFound, "Mesh with name %s is not present for account %s", mesh, meshOwner)
}
