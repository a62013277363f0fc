package validation

import "github.com/trellis-mesh/trellis/internal/apis/appmesh"

// ResourceName validates a resource name at field (e.g. "virtualNodeName"):
// a ResourceName of 1..255 characters. Virtual service names are the
// model's ServiceName, which has no limit, so for KindVirtualService the
// name only has to be non-empty.
func ResourceName(kind appmesh.Kind, field, name string) error {
	c := &collector{}
	maxLen := 255
	if kind == appmesh.KindVirtualService {
		maxLen = 0
	}
	c.requiredString(path(field), name, 1, maxLen)
	return c.err()
}

// Tags validates a tag list at field (e.g. "tags"): at most 50 tags, keys of
// 1..128 characters and values of 0..256, no key twice.
func Tags(field string, tags []appmesh.TagRef) error {
	c := &collector{}
	p := path(field)
	c.items(p, len(tags), true, 0, 50)
	seen := make(map[string]bool, len(tags))
	for i, t := range tags {
		kp := p.index(i).field("key")
		c.requiredString(kp, t.Key, 1, 128)
		if t.Key != "" && seen[t.Key] {
			c.addf(kp, "duplicate key %q", t.Key)
		}
		seen[t.Key] = true
		c.length(p.index(i).field("value"), t.Value, 0, 256)
	}
	return c.err()
}

// TagKeys validates the tagKeys of UntagResource at field: at most 50 keys,
// each 1..128 characters.
func TagKeys(field string, keys []string) error {
	c := &collector{}
	p := path(field)
	c.items(p, len(keys), true, 0, 50)
	for i, k := range keys {
		c.requiredString(p.index(i), k, 1, 128)
	}
	return c.err()
}
