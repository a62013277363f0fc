package xdsserver

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/protobuf/types/known/anypb"
)

// Per-type versions. go-control-plane's NewSnapshot gives every type the
// snapshot's one version, and a state-of-the-world stream is sent every
// type whose version differs from the one it holds: a route weight change
// would resend every cluster and listener too. SetResources versions each
// type on its own instead: a type whose content (the deterministic proto
// bytes of its resources) is what the node's previous snapshot had keeps
// that snapshot's version for it; a type whose content changed takes the
// caller's version. A type's version is thus the caller's version of the
// last SetResources that changed it, and only changed types are sent.

// typeVersion is the version of one type's content in a node's snapshot,
// with the content as the snapshot holds it: a later snapshot whose
// content of the type is the same reuses it instead of indexing again.
type typeVersion struct {
	version string
	sum     uint64 // content fingerprint
	present bool   // the type was in the resource set (possibly empty)
	content *typeContent
	since   time.Time // when the type took this version
}

// typeContent is one type's resources indexed for a snapshot.
type typeContent struct {
	entries []*prepared // by name
	byName  map[string]*prepared
	anys    []*anypb.Any // entries' Anys, the body of a state-of-the-world response of them all
	refs    map[resourcev3.Type]map[string]bool
}

// references is the set of names of type typeURL the content's resources
// reference.
func (c *typeContent) references(typeURL resourcev3.Type) map[string]bool {
	if c == nil {
		return nil
	}
	return c.refs[typeURL]
}

// lookup returns the named resource (nil content has none).
func (c *typeContent) lookup(name string) *prepared {
	if c == nil {
		return nil
	}
	return c.byName[name]
}

// nodeVersions is what the server remembers of a node's current snapshot:
// the caller's version and each type's own.
type nodeVersions struct {
	version string
	types   [types.UnknownType]typeVersion
}

// typeVersion returns the version the node's snapshot has for typeURL.
func (nv *nodeVersions) typeVersion(typeURL string) string {
	if nv == nil {
		return ""
	}
	if t := cachev3.GetResponseType(typeURL); t != types.UnknownType {
		return nv.types[t].version
	}
	return ""
}

// pendingSnapshot is a checked snapshot whose types are not versioned yet.
type pendingSnapshot struct {
	sums     [types.UnknownType]uint64
	has      [types.UnknownType]bool
	contents [types.UnknownType]*typeContent
}

// newPendingSnapshot indexes and fingerprints a resource set and checks its
// consistency; it is the expensive part of SetResources and takes no lock.
// prev is the node's current snapshot (nil if none): a type whose content
// it already has reuses its index.
func newPendingSnapshot(cache *preparedCache, prev *nodeVersions, resources map[string][]types.Resource) (*pendingSnapshot, error) {
	p := &pendingSnapshot{}
	var found [16]*prepared
	for typeURL, items := range resources {
		t := cachev3.GetResponseType(typeURL)
		if t == types.UnknownType {
			return nil, fmt.Errorf("unknown resource type: %s", typeURL)
		}
		prs := found[:0]
		var sum uint64
		for _, r := range items {
			pr, err := cache.get(r)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", typeURL, err)
			}
			// Fingerprints add up, so the order of items does not matter.
			sum += pr.sum
			prs = append(prs, pr)
		}
		slices.SortStableFunc(prs, func(a, b *prepared) int { return strings.Compare(a.name, b.name) })
		// Of resources sharing a name the first is kept, as go-control-plane
		// does.
		prs = slices.CompactFunc(prs, func(a, b *prepared) bool { return a.name == b.name })
		c := prev.reusable(t, prs)
		if c == nil {
			c = newTypeContent(prs)
		}
		p.sums[t], p.has[t], p.contents[t] = sum, true, c
	}
	if err := consistent(p.contents); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInconsistent, err)
	}
	return p, nil
}

// reusable returns the node's current content of type t if it holds the
// same resource objects. Equal content in new objects is indexed anew, so
// that the snapshot lets go of the old objects; its version does not
// change.
func (nv *nodeVersions) reusable(t types.ResponseType, prs []*prepared) *typeContent {
	if nv == nil || !nv.types[t].present {
		return nil
	}
	if c := nv.types[t].content; c != nil && slices.Equal(c.entries, prs) {
		return c
	}
	return nil
}

// newTypeContent indexes one type's prepared resources, sorted by name
// without repeats.
func newTypeContent(prs []*prepared) *typeContent {
	c := &typeContent{entries: slices.Clone(prs), byName: make(map[string]*prepared, len(prs)),
		anys: make([]*anypb.Any, 0, len(prs))}
	for _, pr := range c.entries {
		c.byName[pr.name] = pr
		c.anys = append(c.anys, pr.any)
		if pr.refs != nil {
			if c.refs == nil {
				c.refs = map[resourcev3.Type]map[string]bool{}
			}
			mergeRefs(c.refs, pr.refs)
		}
	}
	return c
}

// version gives every type of the snapshot its version against the node's
// previous one (nil if none) and returns what to remember of it.
func (p *pendingSnapshot) version(prev *nodeVersions, version string, now time.Time) *nodeVersions {
	next := &nodeVersions{version: version}
	for t, has := range p.has {
		if !has {
			continue
		}
		tv := typeVersion{version: version, sum: p.sums[t], present: true, content: p.contents[t], since: now}
		if prev != nil && prev.types[t].present && prev.types[t].sum == tv.sum {
			tv.version, tv.since = prev.types[t].version, prev.types[t].since
		}
		next.types[t] = tv
	}
	return next
}

// handOver moves the node's hold on prepared resources from its previous
// snapshot (nil if none) to its next one (nil when it is cleared).
func handOver(cache *preparedCache, prev, next *nodeVersions) {
	for t := range types.UnknownType {
		var from, to *typeContent
		if prev != nil {
			from = prev.types[t].content
		}
		if next != nil {
			to = next.types[t].content
		}
		if from == to {
			continue
		}
		if to != nil {
			cache.acquire(to.entries)
		}
		if from != nil {
			cache.release(from.entries)
		}
	}
}
