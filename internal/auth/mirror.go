package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/trellis-mesh/trellis/internal/auth/sigv4"
	"github.com/trellis-mesh/trellis/internal/store"
)

// KeySource is what the middleware reads per request: a key's secret and
// a principal's policies. *Keys reads the store each time; *Mirror serves
// them from memory.
type KeySource interface {
	Secret(ctx context.Context, akid, token string) (string, *Key, error)
	// SigningKey is the SigV4 signing key of the key's secret for a scope.
	SigningKey(ctx context.Context, akid, token, date, region, service string) (*sigv4.Key, *Key, error)
	Principal(ctx context.Context, arn string) (*Principal, int64, error)
}

// Mirror is an in-memory copy of the store's auth/ keys (principals and
// access keys), so authenticating a request reads no store and decrypts no
// secret. Owner: the server, which runs Run in the background and waits for
// it. Bound: the number of principals and keys in the store (it is a
// mirror, not a cache of recent use; trellis_auth_mirror_entries shows the
// size). Invalidation: every store event under auth/ replaces or removes
// its entry, in revision order; a compacted watch reloads everything.
// Until the first load, and on a miss (a key created on another replica a
// moment ago), it reads through to the store.
type Mirror struct {
	keys *Keys
	log  *slog.Logger

	mu         sync.RWMutex
	loaded     bool
	akids      map[string]*mirrorKey
	principals map[string]*Principal
	entries    prometheus.Gauge
}

// mirrorKey is a key with its secret, unsealed once on first use, and the
// signing key of the last scope it signed for.
type mirrorKey struct {
	key    *Key
	once   sync.Once
	secret string
	err    error
	scoped atomic.Pointer[scopedKey]
}

// scopedKey is a derived signing key and its scope.
type scopedKey struct {
	date, region, service string
	key                   *sigv4.Key
}

// NewMirror returns a mirror over keys' store; its gauge is registered on
// reg when reg is not nil.
func NewMirror(keys *Keys, reg prometheus.Registerer, log *slog.Logger) *Mirror {
	m := &Mirror{keys: keys, log: log, entries: prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "trellis_auth_mirror_entries",
		Help: "Principals and access keys held in memory by the auth mirror (all of the store's).",
	})}
	if reg != nil {
		if err := reg.Register(m.entries); err != nil {
			log.Error("register auth mirror metric", "err", err)
		}
	}
	return m
}

// Run loads the auth/ keys and follows the store's changes until ctx ends.
// When it stops, reads go to the store again, so a dead watch never
// leaves a disabled key working.
func (m *Mirror) Run(ctx context.Context) error {
	defer func() {
		m.mu.Lock()
		m.loaded = false
		m.mu.Unlock()
	}()
	for {
		rev, err := m.load(ctx)
		if err != nil {
			return err
		}
		err = m.follow(ctx, rev)
		if errors.Is(err, store.ErrCompacted) {
			m.log.Warn("auth mirror watch compacted; reloading")
			continue
		}
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
}

func (m *Mirror) load(ctx context.Context) (int64, error) {
	kvs, rev, err := m.keys.st.List(ctx, KeyPrefix, store.ListOptions{})
	if err != nil {
		return 0, fmt.Errorf("auth mirror: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.akids, m.principals = map[string]*mirrorKey{}, map[string]*Principal{}
	for _, kv := range kvs {
		m.apply(kv.Key, kv.Value)
	}
	m.loaded = true
	m.entries.Set(float64(len(m.akids) + len(m.principals)))
	return rev, nil
}

func (m *Mirror) follow(ctx context.Context, rev int64) error {
	ch, err := m.keys.st.Watch(ctx, KeyPrefix, rev)
	if err != nil {
		return fmt.Errorf("auth mirror: %w", err)
	}
	for resp := range ch {
		if resp.Err != nil {
			return resp.Err
		}
		m.mu.Lock()
		for _, ev := range resp.Events {
			m.apply(ev.KV.Key, ev.KV.Value) // nil Value: deleted
		}
		m.entries.Set(float64(len(m.akids) + len(m.principals)))
		m.mu.Unlock()
	}
	return ctx.Err()
}

// apply sets or (value nil) removes one entry; m.mu is held.
func (m *Mirror) apply(key string, value []byte) {
	switch {
	case strings.HasPrefix(key, keyPrefix):
		akid := strings.TrimPrefix(key, keyPrefix)
		var k Key
		if value == nil || json.Unmarshal(value, &k) != nil {
			delete(m.akids, akid)
			return
		}
		m.akids[akid] = &mirrorKey{key: &k}
	case strings.HasPrefix(key, principalPrefix):
		arn := strings.TrimPrefix(key, principalPrefix)
		var p Principal
		if value == nil || json.Unmarshal(value, &p) != nil {
			delete(m.principals, arn)
			return
		}
		p.prepare()
		m.principals[arn] = &p
	}
}

// Secret is Keys.Secret from memory.
func (m *Mirror) Secret(ctx context.Context, akid, token string) (string, *Key, error) {
	m.mu.RLock()
	e, loaded := m.akids[akid], m.loaded
	m.mu.RUnlock()
	if e == nil || !loaded {
		return m.keys.Secret(ctx, akid, token)
	}
	if err := usable(e.key, token, m.keys.now()); err != nil {
		return "", nil, err
	}
	e.once.Do(func() { e.secret, e.err = m.keys.sealer.Open(akid, e.key.SealedSecret) })
	return e.secret, e.key, e.err
}

// SigningKey derives (or reuses) the signing key for the scope.
func (m *Mirror) SigningKey(ctx context.Context, akid, token, date, region, service string) (*sigv4.Key, *Key, error) {
	m.mu.RLock()
	e, loaded := m.akids[akid], m.loaded
	m.mu.RUnlock()
	if e == nil || !loaded {
		return m.keys.SigningKey(ctx, akid, token, date, region, service)
	}
	secret, key, err := m.Secret(ctx, akid, token)
	if err != nil {
		return nil, nil, err
	}
	if sk := e.scoped.Load(); sk != nil && sk.date == date && sk.region == region && sk.service == service {
		return sk.key, key, nil
	}
	sk := &scopedKey{date: date, region: region, service: service, key: sigv4.DeriveKey(secret, date, region, service)}
	e.scoped.Store(sk)
	return sk.key, key, nil
}

// Principal is Keys.Principal from memory (the revision is 0).
func (m *Mirror) Principal(ctx context.Context, arn string) (*Principal, int64, error) {
	m.mu.RLock()
	p, loaded := m.principals[arn], m.loaded
	m.mu.RUnlock()
	if p == nil || !loaded {
		return m.keys.Principal(ctx, arn)
	}
	return p, 0, nil
}

// WaitLoaded blocks until the first load or ctx's end (for tests).
func (m *Mirror) WaitLoaded(ctx context.Context) error {
	for {
		m.mu.RLock()
		ok := m.loaded
		m.mu.RUnlock()
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}
