package xdsserver

import (
	"fmt"
	"hash/maphash"
	"maps"
	"sync"

	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

// Resources handed to SetResources are immutable by contract, and the
// reconciler hands the same objects to every node whose configuration has
// them in common (the routes of a service a thousand clients call). So
// everything the server needs from a resource is learnt once per object,
// not once per node or per stream:
//
//   - its deterministic proto bytes, hashed into the fingerprint that
//     versions each type (versions.go) and into the per-resource version
//     delta streams compare;
//   - the names it references (a listener's route configs, a cluster's
//     load assignment), for the snapshot consistency check;
//   - the Any (and the delta Resource around it) every response carrying
//     the resource shares, so that no response marshals it again
//     (cache.go).

// fingerprintSeed keys content fingerprints; they never leave the process.
var fingerprintSeed = maphash.MakeSeed()

// prepared is what the server learns once from one resource object.
type prepared struct {
	key     types.Resource
	name    string
	sum     uint64 // fingerprint of the bytes
	version string // go-control-plane's HashResource of the bytes
	refs    map[resourcev3.Type]map[string]bool
	any     *anypb.Any
	delta   *discoveryv3.Resource
	// users counts the node snapshots holding it; preparedCache.mu guards
	// it.
	users int
}

// preparedCache holds the prepared resources of every node snapshot,
// by resource object, for as long as some snapshot holds them: a node's
// snapshot acquires its resources when it is set and releases them when
// it is replaced or cleared.
type preparedCache struct {
	mu sync.Mutex
	m  map[types.Resource]*prepared
}

func newPreparedCache() *preparedCache { return &preparedCache{m: map[types.Resource]*prepared{}} }

// get returns the resource's prepared entry, preparing it if no snapshot
// holds it. A new entry joins the cache when a snapshot acquires it.
func (c *preparedCache) get(r types.Resource) (*prepared, error) {
	c.mu.Lock()
	p, ok := c.m[r]
	c.mu.Unlock()
	if ok {
		return p, nil
	}
	return prepare(r)
}

// acquire records that a snapshot holds the entries.
func (c *preparedCache) acquire(ps []*prepared) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range ps {
		p.users++
		if c.m[p.key] == nil {
			c.m[p.key] = p
		}
	}
}

// release records that a snapshot no longer holds the entries.
func (c *preparedCache) release(ps []*prepared) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range ps {
		p.users--
		if p.users <= 0 && c.m[p.key] == p {
			delete(c.m, p.key)
		}
	}
}

// size is the number of resources snapshots hold.
func (c *preparedCache) size() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}

// prepare marshals a resource and learns what the server needs from it.
func prepare(r types.Resource) (*prepared, error) {
	name := cachev3.GetResourceName(r)
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("marshal %q: %w", name, err)
	}
	p := &prepared{key: r, name: name, sum: maphash.Bytes(fingerprintSeed, b), version: cachev3.HashResource(b),
		any: &anypb.Any{TypeUrl: typeURLOf(r), Value: b}}
	p.delta = &discoveryv3.Resource{Name: name, Version: p.version, Resource: p.any}
	switch cachev3.GetResponseType(resourcev3.Type(typeURLOf(r))) {
	case types.Listener, types.Cluster, types.ScopedRoute:
		p.refs = cachev3.GetResourceReferences(map[string]types.ResourceWithTTL{name: {Resource: r}})
	}
	return p, nil
}

// typeURLOf is the xDS type URL of a resource message.
func typeURLOf(r types.Resource) string {
	return resourcev3.APITypePrefix + string(r.ProtoReflect().Descriptor().FullName())
}

// mergeRefs adds src's references to dst.
func mergeRefs(dst, src map[resourcev3.Type]map[string]bool) {
	for t, names := range src {
		if dst[t] == nil {
			dst[t] = map[string]bool{}
		}
		maps.Copy(dst[t], names)
	}
}

// consistent is go-control-plane's Snapshot.Consistent over references
// learnt once per resource: every route configuration and load assignment
// a listener or cluster names is in the snapshot, and nothing else is.
func consistent(contents [types.UnknownType]*typeContent) error {
	for _, t := range []types.ResponseType{types.Endpoint, types.Route} {
		typeURL, _ := cachev3.GetResponseTypeURL(t)
		want, have := referenced(contents, typeURL), contents[t]
		n := 0
		if have != nil {
			n = len(have.entries)
		}
		if len(want) != n {
			return fmt.Errorf("mismatched %q reference and resource lengths: len(%v) != %d", typeURL, want, n)
		}
		for name := range want {
			if have.lookup(name) == nil {
				return fmt.Errorf("inconsistent %q reference: %q not listed", typeURL, name)
			}
		}
	}
	return nil
}

// referenced is the set of names of type typeURL that the contents
// reference. In an Envoy configuration one type references each (listeners
// route configurations, clusters load assignments), so that type's own set
// is returned without copying.
func referenced(contents [types.UnknownType]*typeContent, typeURL resourcev3.Type) map[string]bool {
	var first, union map[string]bool
	for _, c := range contents {
		refs := c.references(typeURL)
		switch {
		case len(refs) == 0:
		case first == nil:
			first = refs
		default:
			if union == nil {
				union = maps.Clone(first)
			}
			maps.Copy(union, refs)
		}
	}
	if union != nil {
		return union
	}
	return first
}
