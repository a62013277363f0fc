package registryapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/trellis-mesh/trellis/internal/registry"
)

// Cloud Map's tag limits.
const (
	maxTags        = 50
	maxTagKeyLen   = 128
	maxTagValueLen = 256
)

type tagJSON struct{ Key, Value string }

// resourceRef is what a servicediscovery ARN names.
type resourceRef struct {
	kind string // "namespace" or "service"
	id   string
}

// parseARN parses arn:aws:servicediscovery:<region>:<account>:namespace/<id>
// or …:service/<id> of this server's region and account.
func (a *API) parseARN(arn string) (resourceRef, error) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "servicediscovery" {
		return resourceRef{}, invalid("%q is not a servicediscovery ARN", arn)
	}
	kind, id, ok := strings.Cut(parts[5], "/")
	if !ok || id == "" || (kind != "namespace" && kind != "service") {
		return resourceRef{}, invalid("%q names neither a namespace nor a service", arn)
	}
	if parts[3] != a.region || parts[4] != a.account {
		return resourceRef{}, notFound("resource %s not found in %s/%s", arn, a.region, a.account)
	}
	return resourceRef{kind, id}, nil
}

func notFound(format string, args ...any) error {
	e := invalid(format, args...).(*apiError)
	e.code = "ResourceNotFoundException"
	return e
}

// serviceID accepts a service id or a service ARN (Cloud Map's ServiceId
// takes both since namespace sharing).
func serviceID(v string) string {
	if _, after, ok := strings.Cut(v, ":service/"); ok && strings.HasPrefix(v, "arn:") {
		return after
	}
	return v
}

// checkTags validates tags as Cloud Map does; count is how many tags the
// resource would have.
func checkTags(tags []tagJSON, count int, arn string) error {
	for _, t := range tags {
		if t.Key == "" || utf8.RuneCountInString(t.Key) > maxTagKeyLen || utf8.RuneCountInString(t.Value) > maxTagValueLen {
			return invalid("tag keys must be 1 to %d characters and values at most %d, got key %q", maxTagKeyLen, maxTagValueLen, t.Key)
		}
		if strings.HasPrefix(strings.ToLower(t.Key), "aws:") {
			return invalid("tag key %q: the aws: prefix is reserved", t.Key)
		}
	}
	if count > maxTags {
		return &apiError{code: "TooManyTagsException", status: http.StatusBadRequest,
			msg:   fmt.Sprintf("a resource can have at most %d tags; %s would have %d", maxTags, arn, count),
			extra: map[string]string{"ResourceName": arn}}
	}
	return nil
}

// mergeTags adds or replaces tags by key, keeping the first position of a
// key.
func mergeTags(cur []registry.Tag, add []tagJSON) []registry.Tag {
	out := slices.Clone(cur)
	for _, t := range add {
		i := slices.IndexFunc(out, func(c registry.Tag) bool { return c.Key == t.Key })
		if i >= 0 {
			out[i].Value = t.Value
		} else {
			out = append(out, registry.Tag{Key: t.Key, Value: t.Value})
		}
	}
	return out
}

// withTags applies edit to the tags of the resource arn names.
func (a *API) withTags(ctx context.Context, arn string, edit func([]registry.Tag) ([]registry.Tag, error)) ([]registry.Tag, error) {
	ref, err := a.parseARN(arn)
	if err != nil {
		return nil, err
	}
	var tags []registry.Tag
	if ref.kind == "namespace" {
		_, err = a.reg.UpdateNamespace(ctx, ref.id, func(n *registry.Namespace) error {
			n.Tags, err = edit(n.Tags)
			tags = n.Tags
			return err
		})
	} else {
		_, err = a.reg.UpdateService(ctx, ref.id, func(s *registry.Service) error {
			s.Tags, err = edit(s.Tags)
			tags = s.Tags
			return err
		})
	}
	if isNotFound(err) {
		return nil, notFound("resource %s not found", arn)
	}
	return tags, err
}

func (a *API) tagResource(ctx context.Context, body []byte) (any, error) {
	var in struct {
		ResourceARN string
		Tags        []tagJSON
	}
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	_, err := a.withTags(ctx, in.ResourceARN, func(cur []registry.Tag) ([]registry.Tag, error) {
		out := mergeTags(cur, in.Tags)
		return out, checkTags(in.Tags, len(out), in.ResourceARN)
	})
	return struct{}{}, err
}

func (a *API) untagResource(ctx context.Context, body []byte) (any, error) {
	var in struct {
		ResourceARN string
		TagKeys     []string
	}
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	_, err := a.withTags(ctx, in.ResourceARN, func(cur []registry.Tag) ([]registry.Tag, error) {
		return slices.DeleteFunc(slices.Clone(cur), func(t registry.Tag) bool { return slices.Contains(in.TagKeys, t.Key) }), nil
	})
	return struct{}{}, err
}

func (a *API) listTagsForResource(ctx context.Context, body []byte) (any, error) {
	var in struct{ ResourceARN string }
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	ref, err := a.parseARN(in.ResourceARN)
	if err != nil {
		return nil, err
	}
	var tags []registry.Tag
	if ref.kind == "namespace" {
		var n registry.Namespace
		n, err = a.reg.GetNamespace(ctx, ref.id)
		tags = n.Tags
	} else {
		var s registry.Service
		s, err = a.reg.GetService(ctx, ref.id)
		tags = s.Tags
	}
	if isNotFound(err) {
		return nil, notFound("resource %s not found", in.ResourceARN)
	} else if err != nil {
		return nil, err
	}
	return map[string]any{"Tags": tagsJSON(tags)}, nil
}

func isNotFound(err error) bool {
	return errors.Is(err, registry.ErrNamespaceNotFound) || errors.Is(err, registry.ErrServiceNotFound)
}

func tagsJSON(tags []registry.Tag) []tagJSON {
	out := []tagJSON{}
	for _, t := range tags {
		out = append(out, tagJSON{t.Key, t.Value})
	}
	return out
}

func toTags(in []tagJSON) []registry.Tag { return mergeTags(nil, in) }
