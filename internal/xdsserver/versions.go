package xdsserver

import (
	"fmt"
	"hash/maphash"
	"sync"

	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	"google.golang.org/protobuf/proto"
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

// fingerprintSeed keys content fingerprints; they never leave the process.
var fingerprintSeed = maphash.MakeSeed()

// marshalBuffers recycles the buffers resources are marshalled into.
var marshalBuffers = sync.Pool{New: func() any { return new([]byte) }}

// typeVersion is the version of one type's content in a node's snapshot.
type typeVersion struct {
	version string
	sum     uint64 // content fingerprint
	present bool   // the type was in the resource set (possibly empty)
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
	snap *cachev3.Snapshot
	sums [types.UnknownType]uint64
	has  [types.UnknownType]bool
}

// newPendingSnapshot indexes and fingerprints a resource set and checks its
// consistency; it is the expensive part of SetResources and takes no lock.
// With versionMap it also fills in the per-resource versions delta streams
// compare (go-control-plane would otherwise compute them, marshalling
// every resource again, under its cache-wide lock).
func newPendingSnapshot(resources map[string][]types.Resource, versionMap bool) (*pendingSnapshot, error) {
	p := &pendingSnapshot{snap: &cachev3.Snapshot{}}
	if versionMap {
		p.snap.VersionMap = make(map[string]map[string]string, len(resources))
	}
	buf := marshalBuffers.Get().(*[]byte)
	defer marshalBuffers.Put(buf)
	for typeURL, items := range resources {
		t := cachev3.GetResponseType(typeURL)
		if t == types.UnknownType {
			return nil, fmt.Errorf("unknown resource type: %s", typeURL)
		}
		sum, hashes, err := fingerprint(items, versionMap, buf)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", typeURL, err)
		}
		p.snap.Resources[t] = cachev3.NewResources("", items)
		p.sums[t], p.has[t] = sum, true
		if versionMap {
			p.snap.VersionMap[typeURL] = hashes
		}
	}
	if err := p.snap.Consistent(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInconsistent, err)
	}
	return p, nil
}

// fingerprint hashes each resource's deterministic proto bytes and adds
// the hashes up, so the order of items does not matter. With hashes it
// also returns each resource's version as go-control-plane's
// Snapshot.ConstructVersionMap computes it.
func fingerprint(items []types.Resource, hashes bool, buf *[]byte) (uint64, map[string]string, error) {
	var sum uint64
	var byName map[string]string
	if hashes {
		byName = make(map[string]string, len(items))
	}
	for _, r := range items {
		h, err := resourceHashes.get(r, buf)
		if err != nil {
			return 0, nil, err
		}
		sum += h.sum
		if hashes {
			byName[h.name] = h.version
		}
	}
	return sum, byName, nil
}

// resourceHash is what fingerprinting learns from one resource's bytes.
type resourceHash struct {
	name    string
	sum     uint64
	version string
}

// hashCache remembers the hashes of resource objects. Resources handed to
// SetResources are immutable by contract, and the reconciler hands the
// same objects to every node whose configuration is identical, so a push
// to a thousand such nodes marshals each resource once, not a thousand
// times. The cache is dropped whole when it grows past its bound, which
// keeps it from pinning resources of configurations long replaced.
type hashCache struct {
	mu sync.Mutex
	m  map[types.Resource]resourceHash
}

const hashCacheLimit = 1 << 16

var resourceHashes = &hashCache{m: map[types.Resource]resourceHash{}}

func (c *hashCache) get(r types.Resource, buf *[]byte) (resourceHash, error) {
	c.mu.Lock()
	h, ok := c.m[r]
	c.mu.Unlock()
	if ok {
		return h, nil
	}
	b, err := proto.MarshalOptions{Deterministic: true}.MarshalAppend((*buf)[:0], r)
	if err != nil {
		return resourceHash{}, fmt.Errorf("marshal %q: %w", cachev3.GetResourceName(r), err)
	}
	*buf = b
	h = resourceHash{name: cachev3.GetResourceName(r), sum: maphash.Bytes(fingerprintSeed, b), version: cachev3.HashResource(b)}
	c.mu.Lock()
	if len(c.m) >= hashCacheLimit {
		c.m = map[types.Resource]resourceHash{}
	}
	c.m[r] = h
	c.mu.Unlock()
	return h, nil
}

// version gives every type of the snapshot its version against the node's
// previous one (nil if none) and returns what to remember of it.
func (p *pendingSnapshot) version(prev *nodeVersions, version string) *nodeVersions {
	next := &nodeVersions{version: version}
	for t, has := range p.has {
		if !has {
			continue
		}
		tv := typeVersion{version: version, sum: p.sums[t], present: true}
		if prev != nil && prev.types[t].present && prev.types[t].sum == tv.sum {
			tv.version = prev.types[t].version
		}
		next.types[t] = tv
		p.snap.Resources[t].Version = tv.version
	}
	return next
}
