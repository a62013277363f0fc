package etcd

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/trellis-mesh/trellis/internal/store"
)

// DefaultPrefix is where keys live when Options.Prefix is empty.
const DefaultPrefix = "/trellis/"

// listPage bounds the keys read per etcd range request of a List; larger
// Lists read several pages at the first page's revision.
const listPage = 1000

// Options configure a Store.
type Options struct {
	// Endpoints are the etcd client URLs (http://host:2379 or https://...).
	Endpoints []string
	// Prefix is prepended to every key; empty means DefaultPrefix.
	Prefix string
	// TLS, when set, is the client TLS configuration (CA, client cert).
	TLS *tls.Config
	// DialTimeout bounds the first connection; 0 means 5 s.
	DialTimeout time.Duration
	// Logger receives operational messages; nil means slog.Default().
	Logger *slog.Logger
	// ReadCache serves Get, List and Count from an in-memory copy of the
	// prefix, kept by a watch and fenced by shared linearizable reads
	// (readcache.go): reads stay linearizable and cost etcd far fewer
	// requests. It holds every value under the prefix in memory.
	ReadCache bool
	// Registerer, when set, gets the store's Prometheus metrics.
	Registerer prometheus.Registerer

	// watchLogCap overrides watchLogCap (tests of the bound).
	watchLogCap int
}

// Store is the etcd implementation of store.Store.
type Store struct {
	cli    *clientv3.Client
	owns   bool // Close closes cli
	prefix string
	log    *slog.Logger
	m      *metrics
	logCap int // bound of the read cache's event log

	mu      sync.Mutex
	closed  bool
	closing chan struct{}  // closed by Close to stop watchers
	watches sync.WaitGroup // watcher goroutines

	cache    *readCache         // nil without Options.ReadCache
	life     context.Context    // the store's lifetime, for its own goroutines
	stopLife context.CancelFunc // ends life (Close)
	bg       sync.WaitGroup     // the read cache's goroutine
}

var _ store.Store = (*Store)(nil)

// Open connects to etcd and checks that it answers (a linearizable read,
// so a cluster without quorum fails here, within DialTimeout).
func Open(ctx context.Context, opts Options) (*Store, error) {
	if len(opts.Endpoints) == 0 {
		return nil, errors.New("store/etcd: no endpoints")
	}
	if opts.DialTimeout <= 0 {
		opts.DialTimeout = 5 * time.Second
	}
	cli, err := clientv3.New(ClientConfig(opts))
	if err != nil {
		return nil, fmt.Errorf("store/etcd: connect %v: %w", opts.Endpoints, err)
	}
	s := New(cli, opts)
	s.owns = true
	cctx, cancel := context.WithTimeout(ctx, opts.DialTimeout)
	defer cancel()
	if _, err := s.Revision(cctx); err != nil {
		cli.Close()
		return nil, fmt.Errorf("store/etcd: %v not reachable: %w", opts.Endpoints, err)
	}
	return s, nil
}

// ClientConfig is the etcd client configuration Open uses for opts, for
// other clients of the same cluster (the election's).
func ClientConfig(opts Options) clientv3.Config {
	if opts.DialTimeout <= 0 {
		opts.DialTimeout = 5 * time.Second
	}
	return clientv3.Config{
		Endpoints:   opts.Endpoints,
		TLS:         opts.TLS,
		DialTimeout: opts.DialTimeout,
		// Keepalive notices a frozen or cut-off member, so requests and
		// watches move to another one.
		DialKeepAliveTime:    2 * time.Second,
		DialKeepAliveTimeout: 2 * time.Second,
		Logger:               zap.NewNop(),
	}
}

// New returns a Store over an existing client, which the caller keeps
// owning (Close does not close it). Prefix, Logger, ReadCache and
// Registerer of opts are used.
func New(cli *clientv3.Client, opts Options) *Store {
	if opts.Prefix == "" {
		opts.Prefix = DefaultPrefix
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.watchLogCap <= 0 {
		opts.watchLogCap = watchLogCap
	}
	s := &Store{cli: cli, prefix: opts.Prefix, log: opts.Logger, closing: make(chan struct{}),
		m: newMetrics(opts.Registerer, opts.Logger), logCap: opts.watchLogCap}
	s.life, s.stopLife = context.WithCancel(context.Background())
	if opts.ReadCache {
		s.cache = newReadCache(s)
		s.bg.Go(func() { s.cache.run(s.life) })
	}
	return s
}

// Client returns the etcd client (for leader election on the same cluster).
func (s *Store) Client() *clientv3.Client { return s.cli }

// Prefix returns the key prefix of the store.
func (s *Store) Prefix() string { return s.prefix }

func (s *Store) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// mapErr turns etcd and closing errors into the contract's sentinels.
func (s *Store) mapErr(op string, err error) error {
	switch {
	case s.isClosed():
		return fmt.Errorf("store/etcd: %s: %w", op, store.ErrClosed)
	case errors.Is(err, rpctypes.ErrCompacted):
		return fmt.Errorf("store/etcd: %s: %w", op, store.ErrCompacted)
	}
	return fmt.Errorf("store/etcd: %s: %w", op, err)
}

func (s *Store) kv(raw *mvccKV) store.KV {
	return store.KV{Key: strings.TrimPrefix(string(raw.Key), s.prefix), Value: raw.Value,
		CreateRevision: raw.CreateRevision, ModRevision: raw.ModRevision}
}

// Get implements store.Store.
func (s *Store) Get(ctx context.Context, key string) (store.KV, error) {
	if s.isClosed() {
		return store.KV{}, fmt.Errorf("store/etcd: get %q: %w", key, store.ErrClosed)
	}
	if s.cache != nil {
		kv, found, ok, err := s.cache.get(ctx, key)
		switch {
		case err != nil:
			return store.KV{}, s.mapErr(fmt.Sprintf("get %q", key), err)
		case ok && found:
			return kv, nil
		case ok:
			return store.KV{}, fmt.Errorf("store/etcd: get %q: %w", key, store.ErrNotFound)
		}
	}
	resp, err := s.cli.Get(ctx, s.prefix+key)
	if err != nil {
		return store.KV{}, s.mapErr(fmt.Sprintf("get %q", key), err)
	}
	if len(resp.Kvs) == 0 {
		return store.KV{}, fmt.Errorf("store/etcd: get %q: %w", key, store.ErrNotFound)
	}
	return s.kv(resp.Kvs[0]), nil
}

// List implements store.Store. Large results are read in pages, all at
// the revision of the first page, so the result is one consistent cut.
func (s *Store) List(ctx context.Context, prefix string, opts store.ListOptions) ([]store.KV, int64, error) {
	if s.isClosed() {
		return nil, 0, fmt.Errorf("store/etcd: list %q: %w", prefix, store.ErrClosed)
	}
	if s.cache != nil {
		kvs, rev, ok, err := s.cache.list(ctx, prefix, opts)
		if err != nil {
			return nil, 0, s.mapErr(fmt.Sprintf("list %q", prefix), err)
		}
		if ok {
			return kvs, rev, nil
		}
	}
	return s.listDirect(ctx, prefix, opts)
}

// listDirect is List read from etcd.
func (s *Store) listDirect(ctx context.Context, prefix string, opts store.ListOptions) ([]store.KV, int64, error) {
	start := s.prefix + prefix
	if opts.After >= prefix {
		start = s.prefix + opts.After + "\x00"
	}
	end := clientv3.GetPrefixRangeEnd(s.prefix + prefix)
	var out []store.KV
	var rev int64
	for {
		page := int64(listPage)
		if opts.Limit > 0 {
			page = min(page, int64(opts.Limit-len(out)))
		}
		ropts := []clientv3.OpOption{clientv3.WithRange(end), clientv3.WithLimit(page)}
		if rev != 0 {
			ropts = append(ropts, clientv3.WithRev(rev))
		}
		resp, err := s.cli.Get(ctx, start, ropts...)
		if err != nil {
			return nil, 0, s.mapErr(fmt.Sprintf("list %q", prefix), err)
		}
		if rev == 0 {
			rev = resp.Header.Revision
		}
		for _, raw := range resp.Kvs {
			out = append(out, s.kv(raw))
		}
		if !resp.More || len(resp.Kvs) == 0 || (opts.Limit > 0 && len(out) >= opts.Limit) {
			return out, rev, nil
		}
		start = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
}

// Count implements store.Store.
func (s *Store) Count(ctx context.Context, prefix string) (int64, error) {
	if s.isClosed() {
		return 0, fmt.Errorf("store/etcd: count %q: %w", prefix, store.ErrClosed)
	}
	if s.cache != nil {
		n, ok, err := s.cache.count(ctx, prefix)
		if err != nil {
			return 0, s.mapErr(fmt.Sprintf("count %q", prefix), err)
		}
		if ok {
			return n, nil
		}
	}
	resp, err := s.cli.Get(ctx, s.prefix+prefix, clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		return 0, s.mapErr(fmt.Sprintf("count %q", prefix), err)
	}
	return resp.Count, nil
}

// Revision implements store.Store with a linearizable read, so it also
// proves the cluster has quorum.
func (s *Store) Revision(ctx context.Context) (int64, error) {
	if s.isClosed() {
		return 0, fmt.Errorf("store/etcd: revision: %w", store.ErrClosed)
	}
	rev, err := s.rawRevision(ctx)
	if err != nil {
		return 0, s.mapErr("revision", err)
	}
	return rev, nil
}

// rawRevision reads the current revision with a linearizable request.
func (s *Store) rawRevision(ctx context.Context) (int64, error) {
	resp, err := s.cli.Get(ctx, s.prefix, clientv3.WithCountOnly())
	if err != nil {
		return 0, err
	}
	return resp.Header.Revision, nil
}

// Compact discards etcd history before rev (etcd-wide, not just under the
// prefix); watches from older revisions then end with store.ErrCompacted.
func (s *Store) Compact(ctx context.Context, rev int64) error {
	if _, err := s.cli.Compact(ctx, rev, clientv3.WithCompactPhysical()); err != nil {
		return s.mapErr(fmt.Sprintf("compact %d", rev), err)
	}
	if s.cache != nil {
		// A watch from before rev must end with ErrCompacted, as it
		// would on etcd: the shared log stops covering it.
		s.cache.mu.Lock()
		s.cache.log.trim(rev - 1)
		s.cache.mu.Unlock()
	}
	return nil
}

// Close implements store.Store: watches end with store.ErrClosed, then the
// client is closed if Open created it. A second Close is a no-op.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.closing)
	s.mu.Unlock()
	s.stopLife()
	if s.cache != nil {
		s.cache.fencer.stop()
	}
	s.bg.Wait()
	s.watches.Wait()
	if s.owns {
		if err := s.cli.Close(); err != nil && !errors.Is(err, context.Canceled) {
			return fmt.Errorf("store/etcd: close client: %w", err)
		}
	}
	return nil
}
