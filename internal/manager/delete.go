package manager

import (
	"context"
	"strings"

	"github.com/trellis-mesh/trellis/internal/apis/appmesh"
	"github.com/trellis-mesh/trellis/internal/store"
)

// Delete removes a resource and returns it with status DELETED. It fails
// with ResourceInUseException while anything depends on it: a mesh that
// still holds resources, a router with routes, a gateway with gateway
// routes, or a node, router or service that another resource references.
func (m *Manager) Delete(ctx context.Context, id appmesh.Identity) (*appmesh.Resource, error) {
	return retry(ctx, m, func() (*appmesh.Resource, error) {
		cur, rev, err := m.load(ctx, id)
		if err != nil {
			return nil, err
		}
		if cur == nil {
			return nil, notFound(id, m.account)
		}
		cmps := []store.Compare{store.KeyAt(resourceKey(id), rev)}
		for _, b := range blockersOf(id) {
			c, err := m.checkUnblocked(ctx, id, b)
			if err != nil {
				return nil, err
			}
			cmps = append(cmps, c)
		}
		spec, err := cur.DecodeSpec()
		if err != nil {
			return nil, internal("stored spec is corrupt", err)
		}
		ops := []store.Op{store.Del(resourceKey(id))}
		ops = append(ops, refOps(id, referencesOf(id, spec), nil)...)
		if err := m.commit(ctx, cmps, ops); err != nil {
			return nil, err
		}
		gone := cur.Resource
		gone.Status = appmesh.StatusDeleted
		gone.Metadata.LastUpdatedAt = m.timestamp()
		m.log.Info("resource deleted", "kind", id.Kind, "arn", gone.Metadata.Arn)
		return &gone, nil
	})
}

// blocker is a key prefix that must be empty for a delete to proceed, and
// how to describe what was found there.
type blocker struct {
	prefix string
	what   string
	// refs: the keys are reverse references whose last segment is the
	// referrer's path; otherwise they are resource keys.
	refs bool
}

func blockersOf(id appmesh.Identity) []blocker {
	switch id.Kind {
	case appmesh.KindMesh:
		return []blocker{{prefix: meshChildrenPrefix(id.Mesh), what: "resources"}}
	case appmesh.KindVirtualRouter:
		return []blocker{
			{prefix: collectionPrefix(appmesh.KindRoute, id.Mesh, id.Name), what: "routes"},
			{prefix: refTargetPrefix(id), what: "virtual services using it as provider", refs: true},
		}
	case appmesh.KindVirtualGateway:
		return []blocker{{prefix: collectionPrefix(appmesh.KindGatewayRoute, id.Mesh, id.Name), what: "gateway routes"}}
	case appmesh.KindVirtualNode, appmesh.KindVirtualService:
		return []blocker{{prefix: refTargetPrefix(id), what: "resources referencing it", refs: true}}
	}
	return nil
}

// checkUnblocked fails with ResourceInUse if the blocker's prefix holds
// anything, naming up to five of them; otherwise it returns the comparison
// that keeps the prefix empty until commit.
func (m *Manager) checkUnblocked(ctx context.Context, id appmesh.Identity, b blocker) (store.Compare, error) {
	kvs, rev, err := m.st.List(ctx, b.prefix, store.ListOptions{Limit: 5})
	if err != nil {
		return store.Compare{}, internal("store list failed", err)
	}
	if len(kvs) == 0 {
		return store.PrefixUnchangedSince(b.prefix, rev), nil
	}
	names := make([]string, len(kvs))
	for i, kv := range kvs {
		if b.refs {
			names[i] = referrerFromRefKey(kv.Key)
		} else {
			names[i] = strings.TrimPrefix(kv.Key, meshChildrenPrefix(id.Mesh))
		}
	}
	return store.Compare{}, errorf(CodeInUse, "%s %s cannot be deleted because it has %s (listing up to 5: %s)",
		id.Kind, displayName(id), b.what, strings.Join(names, ", "))
}
