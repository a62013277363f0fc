package manager

import (
	"context"
	"slices"
	"strconv"

	"github.com/trellis-mesh/trellis/internal/apis/appmesh"
	"github.com/trellis-mesh/trellis/internal/store"
	"github.com/trellis-mesh/trellis/internal/validation"
)

// MaxTags is App Mesh's limit of user tags per resource.
const MaxTags = 50

// resolveARN maps a resource ARN to an identity on this server. ARNs of
// another partition, region or account name nothing here: NotFound.
func (m *Manager) resolveARN(arn string) (appmesh.Identity, error) {
	if arn == "" {
		return appmesh.Identity{}, errorf(CodeBadRequest, "resourceArn: is required")
	}
	p, err := appmesh.ParseARN(arn)
	if err != nil {
		return appmesh.Identity{}, errorf(CodeBadRequest, "resourceArn: %s is not an App Mesh resource ARN", arn)
	}
	if p.Partition != "aws" || p.Region != m.region || p.Account != m.account {
		return appmesh.Identity{}, errorf(CodeNotFound, "resource %s is not present in region %s for account %s", arn, m.region, m.account)
	}
	return p.Identity, nil
}

// TagResource adds or overwrites tags. If the result would exceed MaxTags,
// nothing is applied (TooManyTagsException).
func (m *Manager) TagResource(ctx context.Context, arn string, tags []appmesh.TagRef) error {
	id, err := m.resolveARN(arn)
	if err != nil {
		return err
	}
	if err := validation.Tags("tags", tags); err != nil {
		return &Error{Code: CodeBadRequest, Message: err.Error()}
	}
	return m.editTags(ctx, id, func(cur []appmesh.TagRef) ([]appmesh.TagRef, error) {
		next := mergeTags(cur, tags)
		if len(next) > MaxTags {
			return nil, errorf(CodeTooManyTags, "resource %s would have %d tags; the limit is %d", arn, len(next), MaxTags)
		}
		return next, nil
	})
}

// UntagResource removes tags by key; absent keys are ignored.
func (m *Manager) UntagResource(ctx context.Context, arn string, keys []string) error {
	id, err := m.resolveARN(arn)
	if err != nil {
		return err
	}
	if err := validation.TagKeys("tagKeys", keys); err != nil {
		return &Error{Code: CodeBadRequest, Message: err.Error()}
	}
	return m.editTags(ctx, id, func(cur []appmesh.TagRef) ([]appmesh.TagRef, error) {
		var next []appmesh.TagRef
		for _, t := range cur {
			if !slices.Contains(keys, t.Key) {
				next = append(next, t)
			}
		}
		return next, nil
	})
}

// editTags applies edit to a resource's tags in one guarded write. Tags are
// not part of the spec: version and lastUpdatedAt do not change.
func (m *Manager) editTags(ctx context.Context, id appmesh.Identity, edit func([]appmesh.TagRef) ([]appmesh.TagRef, error)) error {
	_, err := retry(ctx, m, func() (struct{}, error) {
		cur, rev, err := m.load(ctx, id)
		if err != nil {
			return struct{}{}, err
		}
		if cur == nil {
			return struct{}{}, notFound(id, m.account)
		}
		next, err := edit(cur.Tags)
		if err != nil {
			return struct{}{}, err
		}
		cur.Tags = next
		err = m.commit(ctx, []store.Compare{store.KeyAt(resourceKey(id), rev)}, []store.Op{store.Put(resourceKey(id), cur.encode())})
		return struct{}{}, err
	})
	return err
}

// TagsPage is one page of ListTagsForResource.
type TagsPage struct {
	Tags      []appmesh.TagRef
	NextToken string
}

// ListTags pages through a resource's tags (limit 1..50, default 50).
func (m *Manager) ListTags(ctx context.Context, arn string, limit int, token string) (*TagsPage, error) {
	id, err := m.resolveARN(arn)
	if err != nil {
		return nil, err
	}
	start := 0
	if token != "" {
		start, err = strconv.Atoi(token)
		if err != nil || start < 0 {
			return nil, errorf(CodeBadRequest, "nextToken: is not a token returned by ListTagsForResource")
		}
	}
	r, _, err := m.load(ctx, id)
	if err != nil {
		return nil, err
	}
	if r == nil {
		return nil, notFound(id, m.account)
	}
	if limit <= 0 {
		limit = MaxTags
	}
	page := &TagsPage{Tags: []appmesh.TagRef{}}
	if start < len(r.Tags) {
		end := min(start+limit, len(r.Tags))
		page.Tags = r.Tags[start:end]
		if end < len(r.Tags) {
			page.NextToken = strconv.Itoa(end)
		}
	}
	return page, nil
}

// mergeTags overwrites existing keys in place and appends new ones.
func mergeTags(cur, add []appmesh.TagRef) []appmesh.TagRef {
	out := append([]appmesh.TagRef(nil), cur...)
	for _, t := range add {
		replaced := false
		for i := range out {
			if out[i].Key == t.Key {
				out[i].Value, replaced = t.Value, true
			}
		}
		if !replaced {
			out = append(out, t)
		}
	}
	return out
}
