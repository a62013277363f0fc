package xdsgen

import "sync"

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
