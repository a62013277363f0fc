package bolt

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	bbolt "go.etcd.io/bbolt"
	bberrors "go.etcd.io/bbolt/errors"

	"github.com/trellis-mesh/trellis/internal/store"
)

// DefaultHistoryLimit is the number of revisions kept for Watch replay when
// Options.HistoryLimit is zero.
const DefaultHistoryLimit = 100000

const (
	// maxBatchDelay bounds how long a Txn waits for companions to share its
	// fsync. It is paid only when Txns run concurrently (see Txn).
	maxBatchDelay = time.Millisecond
	// maxBatchSize caps the Txns of one bbolt transaction, so one batch
	// neither holds the writer lock long nor grows a huge dirty page set.
	maxBatchSize = 256
	// ringSize caps the revisions the hub keeps in memory for watchers.
	ringSize = 4096
	// openTimeout bounds the wait for bbolt's file lock, so a second process
	// opening the same file fails instead of hanging forever.
	openTimeout = 10 * time.Second
)

// Options tunes a Store. The zero value is production-ready.
type Options struct {
	// HistoryLimit is the number of most recent revisions kept in the log
	// for Watch replay; 0 means DefaultHistoryLimit.
	HistoryLimit int
	// Logger receives operational messages; nil means slog.Default().
	Logger *slog.Logger
	// NoSync skips fsync on commit. A crash may then lose acknowledged
	// Txns: for tests and benchmarks only.
	NoSync bool

	// ringSize overrides the in-memory ring size, so tests can make
	// watchers fall behind it and exercise catch-up from the log.
	ringSize int
}

// Store is the bbolt implementation of store.Store.
type Store struct {
	path         string
	db           *bbolt.DB
	log          *slog.Logger
	historyLimit int64
	hub          *hub

	// writers counts Txns in flight, to let a lone Txn skip the batch delay.
	writers atomic.Int64

	// closeMu is held shared by every Get/List/Txn/Revision and exclusively
	// by Close, so bbolt is never closed under a running call.
	closeMu sync.RWMutex
	closed  bool
	closing chan struct{}  // closed by Close to stop watchers
	watches sync.WaitGroup // watcher goroutines
}

var _ store.Store = (*Store)(nil)

// Open opens the store file at path, creating it only when it does not
// exist. An existing file is checked in full first (see openChecked): a
// damaged one, including an empty one, yields an error matching
// ErrDamaged, never a crash.
func Open(path string, opts Options) (*Store, error) {
	if opts.HistoryLimit <= 0 {
		opts.HistoryLimit = DefaultHistoryLimit
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.ringSize <= 0 {
		opts.ringSize = ringSize
	}
	existed, err := preflight(path)
	if err != nil {
		return nil, err
	}
	db, err := openChecked(path, &bbolt.Options{Timeout: openTimeout, NoSync: opts.NoSync}, existed)
	if err != nil {
		return nil, err
	}
	db.MaxBatchDelay = maxBatchDelay
	db.MaxBatchSize = maxBatchSize
	rev, err := initBuckets(db)
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("store/bolt: init %s: %w", path, err)
	}
	s := &Store{
		path:         path,
		db:           db,
		log:          opts.Logger.With("component", "store/bolt"),
		historyLimit: int64(opts.HistoryLimit),
		// The ring never holds more than the log retains, so a watcher is
		// never served a revision Watch would call compacted.
		hub:     newHub(rev, min(opts.ringSize, opts.HistoryLimit)),
		closing: make(chan struct{}),
	}
	s.log.Debug("opened", "path", path, "revision", rev, "history_limit", opts.HistoryLimit)
	return s, nil
}

// initBuckets creates the buckets of a new file and returns the current
// revision.
func initBuckets(db *bbolt.DB) (rev int64, err error) {
	err = db.Update(func(tx *bbolt.Tx) error {
		for _, name := range [][]byte{bucketKV, bucketLog, bucketMeta} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("bucket %s: %w", name, err)
			}
		}
		rev = decodeRev(tx.Bucket(bucketMeta).Get(metaRev))
		return nil
	})
	return rev, err
}

// enter guards a call against a concurrent Close; the caller must call
// s.closeMu.RUnlock when it returns nil.
func (s *Store) enter() error {
	s.closeMu.RLock()
	if s.closed {
		s.closeMu.RUnlock()
		return store.ErrClosed
	}
	return nil
}

// view runs fn in a read transaction, which bbolt runs concurrently with
// the writer and with other readers.
func (s *Store) view(ctx context.Context, fn func(*bbolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.enter(); err != nil {
		return err
	}
	defer s.closeMu.RUnlock()
	return mapErr(s.db.View(fn))
}

// mapErr turns bbolt's "not open" into the contract's ErrClosed.
func mapErr(err error) error {
	if errors.Is(err, bberrors.ErrDatabaseNotOpen) {
		return fmt.Errorf("store/bolt: %w", store.ErrClosed)
	}
	return err
}

// Get implements store.Store.
func (s *Store) Get(ctx context.Context, key string) (store.KV, error) {
	var kv store.KV
	err := s.view(ctx, func(tx *bbolt.Tx) error {
		raw := tx.Bucket(bucketKV).Get([]byte(key))
		if raw == nil {
			return store.ErrNotFound
		}
		var err error
		kv, err = decodeKV([]byte(key), raw)
		return err
	})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return store.KV{}, fmt.Errorf("store/bolt: get %q: %w", key, err)
	}
	return kv, err
}

// List implements store.Store. The keys and the revision come from one read
// transaction, so the revision is exactly the state the keys reflect: a
// Watch from it misses nothing and repeats nothing.
func (s *Store) List(ctx context.Context, prefix string, opts store.ListOptions) ([]store.KV, int64, error) {
	var (
		kvs []store.KV
		rev int64
	)
	err := s.view(ctx, func(tx *bbolt.Tx) error {
		rev = decodeRev(tx.Bucket(bucketMeta).Get(metaRev))
		c := tx.Bucket(bucketKV).Cursor()
		p := []byte(prefix)
		start := p
		// The smallest key strictly greater than After is After+"\x00".
		if after := []byte(opts.After + "\x00"); opts.After != "" && bytes.Compare(after, start) > 0 {
			start = after
		}
		for k, v := c.Seek(start); k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
			if opts.Limit > 0 && len(kvs) >= opts.Limit {
				break
			}
			kv, err := decodeKV(k, v)
			if err != nil {
				return err
			}
			kvs = append(kvs, kv)
		}
		return nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("store/bolt: list %q: %w", prefix, err)
	}
	return kvs, rev, nil
}

// Count implements store.Store: a key-only cursor walk, no value copies.
func (s *Store) Count(ctx context.Context, prefix string) (int64, error) {
	var n int64
	err := s.view(ctx, func(tx *bbolt.Tx) error {
		c := tx.Bucket(bucketKV).Cursor()
		p := []byte(prefix)
		for k, _ := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, _ = c.Next() {
			n++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store/bolt: count %q: %w", prefix, err)
	}
	return n, nil
}

// Revision implements store.Store.
func (s *Store) Revision(ctx context.Context) (int64, error) {
	var rev int64
	err := s.view(ctx, func(tx *bbolt.Tx) error {
		rev = decodeRev(tx.Bucket(bucketMeta).Get(metaRev))
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store/bolt: revision: %w", err)
	}
	return rev, nil
}

// Close implements store.Store. It ends every watch (with ErrClosed), waits
// for running calls, and closes the file. Calling it again is a no-op.
func (s *Store) Close() error {
	s.closeMu.Lock()
	if s.closed {
		s.closeMu.Unlock()
		return nil
	}
	s.closed = true
	close(s.closing)
	err := s.db.Close()
	s.closeMu.Unlock()
	// Watchers may be inside a read of the (now closed) file; they map the
	// failure to ErrClosed. Wait so that no goroutine outlives Close.
	s.watches.Wait()
	if err != nil {
		return fmt.Errorf("store/bolt: close: %w", err)
	}
	return nil
}
