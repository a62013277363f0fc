package auth

import (
	"bytes"
	"encoding/json"
	"slices"
)

// prepare computes what documents returns, once; the Mirror calls it
// before it shares the principal between requests.
func (p *Principal) prepare() {
	p.docs, p.resourceTag = p.collect()
	p.prepared = true
}

// documents returns the attached policy documents (sorted by name, so the
// order is stable) and whether any of them uses an aws:ResourceTag
// condition key. A prepared principal answers without allocating.
func (p *Principal) documents() ([]json.RawMessage, bool) {
	if p.prepared {
		return p.docs, p.resourceTag
	}
	return p.collect()
}

func (p *Principal) collect() ([]json.RawMessage, bool) {
	names := make([]string, 0, len(p.Policies))
	for name := range p.Policies {
		names = append(names, name)
	}
	slices.Sort(names)
	docs := make([]json.RawMessage, 0, len(names))
	for _, name := range names {
		docs = append(docs, p.Policies[name])
	}
	return docs, mentionsResourceTag(docs)
}

// mentionsResourceTag: does any document use an aws:ResourceTag key?
func mentionsResourceTag(docs []json.RawMessage) bool {
	for _, d := range docs {
		if containsFold(d, "aws:resourcetag/") {
			return true
		}
	}
	return false
}

// containsFold reports whether b contains pattern, which is lower-case
// ASCII, in any case, without copying b.
func containsFold(b []byte, pattern string) bool {
	first := pattern[0]
	for i := 0; i+len(pattern) <= len(b); i++ {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c == first && bytes.EqualFold(b[i:i+len(pattern)], []byte(pattern)) {
			return true
		}
	}
	return false
}
