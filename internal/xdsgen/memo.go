package xdsgen

import (
	"crypto/sha256"

	lru "github.com/hashicorp/golang-lru/v2"

	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Memo is the work xdsgen remembers across translations, keyed by
// immutable inputs: typed configs found valid (by type URL and bytes),
// which message types can hold an Any, what each listener object
// references, and built, validated virtual hosts (by the digest of their
// IR, and the set of host objects known valid).
//
// Owner: whoever translates many proxies creates one and passes it to
// every translation (reconcile keeps one per Reconciler); Translate and
// TranslateFrom without a Memo use a fresh one. Bound: each table is an
// LRU (hashicorp/golang-lru, the one bounded-cache type of the xDS side). Invalidation: none is needed,
// since every key is a content digest or an object that is never modified;
// what is evicted is only worked out again. Safe for concurrent use.
type Memo struct {
	validAnys       *lru.Cache[validAny, struct{}]
	anyHolders      *lru.Cache[protoreflect.FullName, bool]
	listenerRefMemo *lru.Cache[*listenerv3.Listener, []chainRefs]
	vhostsByIR      *lru.Cache[[sha256.Size]byte, *routev3.VirtualHost]
	validVHosts     *lru.Cache[*routev3.VirtualHost, struct{}]
}

// NewMemo returns an empty Memo.
func NewMemo() *Memo { return newMemoSized(1<<12, 1<<13) }

// newMemoSized is NewMemo with bounds for typed configs and message types
// (small) and for listeners and virtual hosts (objects).
func newMemoSized(small, objects int) *Memo {
	return &Memo{
		validAnys:       newLRU[validAny, struct{}](small),
		anyHolders:      newLRU[protoreflect.FullName, bool](small),
		listenerRefMemo: newLRU[*listenerv3.Listener, []chainRefs](objects),
		vhostsByIR:      newLRU[[sha256.Size]byte, *routev3.VirtualHost](objects),
		validVHosts:     newLRU[*routev3.VirtualHost, struct{}](objects),
	}
}

// newLRU is lru.New for a size known to be positive.
func newLRU[K comparable, V any](size int) *lru.Cache[K, V] {
	c, err := lru.New[K, V](size)
	if err != nil {
		panic(err) // only for size <= 0
	}
	return c
}

// Len is the number of entries the Memo holds, for metrics.
func (mm *Memo) Len() int {
	return mm.validAnys.Len() + mm.anyHolders.Len() + mm.listenerRefMemo.Len() + mm.vhostsByIR.Len() + mm.validVHosts.Len()
}
