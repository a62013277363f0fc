package etcd

import (
	"context"
	"net/http"
	"sync"
)

// sessionKey keys a *readSession in a context.
type sessionKey struct{}

// readSession lets the cached reads of one caller operation (one API
// request) share a fence. The first read obtains a fresh fence, which
// starts after the session was created and so after the operation was
// invoked; later reads reuse it and still see every write acknowledged
// before the invocation. A Txn of the session raises the fence to its own
// revision (read-your-writes) or, on a conflict, clears it (the retry
// reads past the write that won).
type readSession struct {
	mu    sync.Mutex
	fence int64
	// optimistic: reads without a fence are allowed (BeginOptimistic);
	// unfenced: one was served and no Txn committed after it.
	optimistic, unfenced bool
}

// WithReadSession returns ctx carrying a new read session. Only the read
// cache (Options.ReadCache) uses it; without one it changes nothing.
func WithReadSession(ctx context.Context) context.Context {
	return context.WithValue(ctx, sessionKey{}, &readSession{})
}

// ReadSessions gives every request handled by next its own read session.
func ReadSessions(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(WithReadSession(r.Context())))
	})
}

func sessionOf(ctx context.Context) *readSession {
	s, _ := ctx.Value(sessionKey{}).(*readSession)
	return s
}

// get returns the session's fence (0: none yet).
func (s *readSession) get() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fence
}

// raise moves the fence up to rev.
func (s *readSession) raise(rev int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fence = max(s.fence, rev)
}

// committed records a committed Txn at rev: later reads see it, and the
// unfenced reads before it were checked by its comparisons.
func (s *readSession) committed(rev int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fence = max(s.fence, rev)
	s.unfenced = false
}

// reset clears the fence, so the next read takes a fresh one, and ends
// optimistic reads (a failed Txn: the reads were stale or contended).
func (s *readSession) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fence, s.optimistic, s.unfenced = 0, false, false
}

// unfencedRead reports whether a read may skip the fence, and records
// that it did.
func (s *readSession) unfencedRead() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.optimistic || s.fence != 0 {
		return false
	}
	s.unfenced = true
	return true
}

// BeginOptimistic implements store.OptimisticReads.
func (s *Store) BeginOptimistic(ctx context.Context) bool {
	sess := sessionOf(ctx)
	if sess == nil || s.cache == nil {
		return false
	}
	sess.mu.Lock()
	defer sess.mu.Unlock()
	sess.optimistic = true
	return true
}

// EndOptimistic implements store.OptimisticReads.
func (s *Store) EndOptimistic(ctx context.Context) bool {
	sess := sessionOf(ctx)
	if sess == nil {
		return false
	}
	sess.mu.Lock()
	defer sess.mu.Unlock()
	stale := sess.unfenced
	sess.optimistic, sess.unfenced = false, false
	if stale {
		sess.fence = 0 // the redo's reads take a fresh fence
		s.m.optimisticRedos.Inc()
	}
	return stale
}
