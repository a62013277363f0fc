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

// reset clears the fence, so the next read takes a fresh one.
func (s *readSession) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fence = 0
}
