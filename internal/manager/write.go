package manager

import (
	"context"
	"encoding/json"
	"slices"

	"github.com/trellis-mesh/trellis/internal/apis/appmesh"
	"github.com/trellis-mesh/trellis/internal/store"
	"github.com/trellis-mesh/trellis/internal/validation"
)

// CreateInput is a Create* request.
type CreateInput struct {
	ID appmesh.Identity
	// Spec is a pointer to the kind's spec type; nil is allowed for a mesh.
	Spec        any
	Tags        []appmesh.TagRef
	ClientToken string
}

// UpdateInput is an Update* request. The spec replaces the stored spec
// wholesale, as in App Mesh.
type UpdateInput struct {
	ID          appmesh.Identity
	Spec        any
	ClientToken string
}

// Create makes a new resource with version 1. A retry carrying the same
// clientToken and request returns the resource made by the first attempt;
// the same token with a different request, or a name already taken, is a
// ConflictException.
func (m *Manager) Create(ctx context.Context, in CreateInput) (*appmesh.Resource, error) {
	spec, err := m.prepare(in.ID, in.Spec, in.Tags, true)
	if err != nil {
		return nil, err
	}
	hash := requestHash("create", in.ID, spec.raw, in.Tags)
	return retry(ctx, m, func() (*appmesh.Resource, error) {
		cur, _, err := m.load(ctx, in.ID)
		if err != nil {
			return nil, err
		}
		if cur != nil {
			return replay(cur, in.ID, in.ClientToken, cur.CreateToken, cur.CreateHash, hash)
		}
		p, err := m.dependencies(ctx, in.ID, spec.typed)
		if err != nil {
			return nil, err
		}
		if err := m.checkCount(ctx, in.ID); err != nil {
			return nil, err
		}
		rec := m.newRecord(in.ID, spec.raw, in.Tags)
		rec.CreateToken, rec.CreateHash = in.ClientToken, hash
		ops := []store.Op{store.Put(resourceKey(in.ID), rec.encode())}
		ops = append(ops, refOps(in.ID, nil, p.refs)...)
		cmps := append(p.cmps, store.KeyAbsent(resourceKey(in.ID)))
		if err := m.commit(ctx, cmps, ops); err != nil {
			return nil, err
		}
		m.log.Info("resource created", "kind", in.ID.Kind, "arn", rec.Metadata.Arn, "uid", rec.Metadata.Uid)
		return &rec.Resource, nil
	})
}

// Update replaces a resource's spec and bumps its version. A retry with the
// same clientToken and request returns the result of the first attempt
// without another version bump.
func (m *Manager) Update(ctx context.Context, in UpdateInput) (*appmesh.Resource, error) {
	spec, err := m.prepare(in.ID, in.Spec, nil, false)
	if err != nil {
		return nil, err
	}
	hash := requestHash("update", in.ID, spec.raw, nil)
	return retry(ctx, m, func() (*appmesh.Resource, error) {
		cur, rev, err := m.load(ctx, in.ID)
		if err != nil {
			return nil, err
		}
		if cur == nil {
			return nil, notFound(in.ID, m.account)
		}
		if in.ClientToken != "" && in.ClientToken == cur.UpdateToken {
			return replay(cur, in.ID, in.ClientToken, cur.UpdateToken, cur.UpdateHash, hash)
		}
		p, err := m.dependencies(ctx, in.ID, spec.typed)
		if err != nil {
			return nil, err
		}
		oldSpec, err := cur.DecodeSpec()
		if err != nil {
			return nil, internal("stored spec is corrupt", err)
		}
		next := *cur
		next.Spec = spec.raw
		next.Metadata.Version++
		next.Metadata.LastUpdatedAt = m.timestamp()
		next.UpdateToken, next.UpdateHash = in.ClientToken, hash
		ops := []store.Op{store.Put(resourceKey(in.ID), next.encode())}
		ops = append(ops, refOps(in.ID, referencesOf(in.ID, oldSpec), p.refs)...)
		cmps := append(p.cmps, store.KeyAt(resourceKey(in.ID), rev))
		if err := m.commit(ctx, cmps, ops); err != nil {
			return nil, err
		}
		m.log.Info("resource updated", "kind", in.ID.Kind, "arn", next.Metadata.Arn, "version", next.Metadata.Version)
		return &next.Resource, nil
	})
}

// replay answers a request whose clientToken matches the one that produced
// the stored resource: the same request gets the stored resource back, a
// different one a ConflictException. Without a matching token, a Create of
// an existing name is a conflict too.
func replay(cur *record, id appmesh.Identity, token, storedToken, storedHash, hash string) (*appmesh.Resource, error) {
	if token != "" && token == storedToken {
		if hash == storedHash {
			return &cur.Resource, nil
		}
		return nil, errorf(CodeConflict, "clientToken %s was already used for a different request on %s %s", token, id.Kind, id.Name)
	}
	return nil, errorf(CodeConflict, "%s with name %s already exists", id.Kind, displayName(id))
}

func displayName(id appmesh.Identity) string {
	if id.Kind == appmesh.KindMesh {
		return id.Mesh
	}
	return id.Name
}

// preparedSpec is a validated spec and its canonical JSON.
type preparedSpec struct {
	typed any
	raw   json.RawMessage
}

// prepare validates names, spec and tags (one BadRequest listing every
// violation) and canonicalises the spec.
func (m *Manager) prepare(id appmesh.Identity, spec any, tags []appmesh.TagRef, create bool) (preparedSpec, error) {
	if spec == nil && id.Kind == appmesh.KindMesh {
		spec = &appmesh.MeshSpec{}
	}
	errs := []error{validation.ResourceName(appmesh.KindMesh, "meshName", id.Mesh)}
	if p := id.Kind.Parent(); p != 0 {
		errs = append(errs, validation.ResourceName(p, p.NameKey(), id.Parent))
	}
	if id.Kind != appmesh.KindMesh {
		errs = append(errs, validation.ResourceName(id.Kind, id.Kind.NameKey(), id.Name))
	}
	if spec == nil {
		errs = append(errs, &validation.Error{Violations: []validation.Violation{{Field: "spec", Rule: "is required"}}})
	} else {
		errs = append(errs, validation.Spec(id.Kind, spec))
	}
	if create {
		errs = append(errs, validation.Tags("tags", tags))
	}
	if err := validation.Join(errs...); err != nil {
		return preparedSpec{}, &Error{Code: CodeBadRequest, Message: err.Error()}
	}
	if err := m.checkBackends(spec); err != nil {
		return preparedSpec{}, err
	}
	raw, err := json.Marshal(spec)
	if err != nil {
		return preparedSpec{}, internal("encode spec", err)
	}
	return preparedSpec{typed: spec, raw: raw}, nil
}

func (m *Manager) newRecord(id appmesh.Identity, spec json.RawMessage, tags []appmesh.TagRef) *record {
	now := m.timestamp()
	return &record{Resource: appmesh.Resource{
		Kind: id.Kind, Mesh: id.Mesh, Parent: id.Parent, Name: id.Name,
		Spec: spec,
		Metadata: appmesh.ResourceMetadata{
			Arn:       id.ARN(m.region, m.account),
			CreatedAt: now, LastUpdatedAt: now,
			MeshOwner: m.account, ResourceOwner: m.account,
			Uid:     NewUID(),
			Version: 1,
		},
		Status: appmesh.StatusActive,
		Tags:   tags,
	}}
}

// refOps turns a change of references from old to new into store writes.
func refOps(referrer appmesh.Identity, old, new []appmesh.Identity) []store.Op {
	var ops []store.Op
	for _, t := range old {
		if !slices.Contains(new, t) {
			ops = append(ops, store.Del(refKey(t, referrer)))
		}
	}
	for _, t := range new {
		if !slices.Contains(old, t) {
			ops = append(ops, store.Put(refKey(t, referrer), []byte{}))
		}
	}
	return ops
}
