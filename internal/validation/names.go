package validation

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/trellis-mesh/trellis/internal/apis/appmesh"
)

// ResourceName validates a resource name at field (e.g. "virtualNodeName"):
// a ResourceName of 1..255 characters. Virtual service names are the
// model's ServiceName, which has no limit, so for KindVirtualService the
// name only has to be non-empty. Beyond the model (which has no pattern),
// every name must work everywhere Trellis uses it, so nameChars refuses
// what would break ARNs, proxy node ids, REST paths or logs
// (docs/names.md).
func ResourceName(kind appmesh.Kind, field, name string) error {
	c := &collector{}
	maxLen := 255
	if kind == appmesh.KindVirtualService {
		maxLen = 0
	}
	p := path(field)
	c.requiredString(p, name, 1, maxLen)
	c.nameChars(p, name)
	if len(c.violations) == 0 {
		c.proxyName(kind, p, name)
	}
	return c.err()
}

// proxyName checks the names that make up a proxy's node id,
// mesh/<mesh>/virtualNode|virtualGateway/<name>: the xDS server refuses
// node ids with blanks, and reads <mesh>@<owner> as a shared mesh.
func (c *collector) proxyName(kind appmesh.Kind, p path, name string) {
	switch kind {
	case appmesh.KindMesh, appmesh.KindVirtualNode, appmesh.KindVirtualGateway:
	default:
		return
	}
	if strings.ContainsFunc(name, unicode.IsSpace) {
		c.add(p, "must not contain whitespace (it is part of proxy node ids, mesh/<mesh>/virtualNode/<name>)")
		return
	}
	if kind == appmesh.KindMesh && strings.Contains(name, "@") {
		c.add(p, `must not contain "@" (proxy node ids read <mesh>@<owner> as a shared mesh)`)
	}
}

// nameChars checks the characters of a resource name: valid UTF-8 (never
// rewritten to U+FFFD), no control characters (NUL included), no "/"
// (node ids and ARNs split on it: mesh/<mesh>/virtualNode/<name>), and not
// "." or ".." (path segments that HTTP clients and routers remove, so the
// resource could never be addressed again).
func (c *collector) nameChars(p path, name string) {
	switch {
	case !utf8.ValidString(name):
		c.add(p, "must be valid UTF-8")
	case strings.ContainsFunc(name, unicode.IsControl):
		c.add(p, "must not contain control characters (U+0000..U+001F, U+007F..U+009F)")
	case strings.Contains(name, "/"):
		c.add(p, `must not contain "/" (it separates the segments of ARNs and proxy node ids)`)
	case name == "." || name == "..":
		c.addf(p, "must not be %q (a relative path segment in the REST API)", name)
	}
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
