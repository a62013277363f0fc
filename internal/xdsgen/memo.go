package xdsgen

import (
	"crypto/sha256"
	"sync"

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
// TranslateFrom without a Memo use a fresh one. Bound: each map is dropped
// whole when it reaches its limit (memoMap). Invalidation: none is needed,
// since every key is a content digest or an object that is never modified;
// what is dropped is only worked out again. Safe for concurrent use.
type Memo struct {
	validAnys       *memoMap[validAny, struct{}]
	anyHolders      *memoMap[protoreflect.FullName, bool]
	listenerRefMemo *memoMap[*listenerv3.Listener, []chainRefs]
	vhostsByIR      *memoMap[[sha256.Size]byte, *routev3.VirtualHost]
	validVHosts     *memoMap[*routev3.VirtualHost, struct{}]
}

// NewMemo returns an empty Memo.
func NewMemo() *Memo {
	return &Memo{
		validAnys:       newMemoMap[validAny, struct{}](4096),
		anyHolders:      newMemoMap[protoreflect.FullName, bool](4096),
		listenerRefMemo: newMemoMap[*listenerv3.Listener, []chainRefs](1 << 13),
		vhostsByIR:      newMemoMap[[sha256.Size]byte, *routev3.VirtualHost](1 << 13),
		validVHosts:     newMemoMap[*routev3.VirtualHost, struct{}](1 << 13),
	}
}

// memoMap is a concurrency-safe map that remembers work done on immutable
// inputs (a typed config's bytes, a virtual host's IR, a listener object).
// It is dropped whole when it reaches its limit, so inputs of
// configurations long replaced are not pinned; what is dropped is only
// worked out again.
type memoMap[K comparable, V any] struct {
	limit int
	mu    sync.Mutex
	m     map[K]V
}

func newMemoMap[K comparable, V any](limit int) *memoMap[K, V] {
	return &memoMap[K, V]{limit: limit, m: map[K]V{}}
}

func (c *memoMap[K, V]) get(k K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[k]
	return v, ok
}

func (c *memoMap[K, V]) put(k K, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.limit {
		c.m = map[K]V{}
	}
	c.m[k] = v
}
