package manager

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/trellis-mesh/trellis/internal/apis/appmesh"
	"github.com/trellis-mesh/trellis/internal/store"
)

// Options configure a Manager.
type Options struct {
	// Region and AccountID appear in ARNs and as meshOwner/resourceOwner.
	Region    string
	AccountID string
	Limits    Limits
	Logger    *slog.Logger
	// Now is the clock; tests may fix it. Defaults to time.Now.
	Now func() time.Time
}

// Manager applies App Mesh semantics to a store. It is safe for concurrent
// use; all coordination goes through store transactions, so several
// Managers (several servers on one etcd) may share a store.
type Manager struct {
	st      store.Store
	region  string
	account string
	limits  Limits
	log     *slog.Logger
	now     func() time.Time
}

// New returns a Manager over st.
func New(st store.Store, opts Options) *Manager {
	m := &Manager{st: st, region: opts.Region, account: opts.AccountID, limits: opts.Limits, log: opts.Logger, now: opts.Now}
	if m.log == nil {
		m.log = slog.Default()
	}
	if m.now == nil {
		m.now = time.Now
	}
	if m.limits == (Limits{}) {
		m.limits = DefaultLimits()
	}
	return m
}

// Region returns the region used in ARNs.
func (m *Manager) Region() string { return m.region }

// AccountID returns the account used in ARNs and owners.
func (m *Manager) AccountID() string { return m.account }

// timestamp returns now at the millisecond precision the wire carries, so
// what is stored is exactly what clients see.
func (m *Manager) timestamp() appmesh.Timestamp {
	return appmesh.Timestamp{Time: m.now().UTC().Truncate(time.Millisecond)}
}

// errRetry asks retry to run the attempt again: a store comparison failed
// because another writer got there first.
var errRetry = errors.New("retry")

// maxAttempts bounds optimistic retries of one request. Contention on one
// resource resolves within a few attempts; the bound only stops livelock.
const maxAttempts = 64

// retry runs attempt until it succeeds, fails for a reason other than a
// lost race, or runs out of attempts. Backoff is jittered so contending
// writers spread out.
//
// Every read of an attempt is checked by a comparison of its commit, so
// with a store that offers it (store.OptimisticReads) the attempts read
// without waiting for a fence; an outcome without a commit (an error, a
// replay) may rest on a stale read and is redone with fenced reads.
func retry[T any](ctx context.Context, m *Manager, attempt func() (T, error)) (T, error) {
	var zero T
	opt, _ := m.st.(store.OptimisticReads)
	optimistic := opt != nil && opt.BeginOptimistic(ctx)
	for i := 0; ; i++ {
		v, err := attempt()
		if !errors.Is(err, errRetry) {
			if optimistic {
				optimistic = false
				if opt.EndOptimistic(ctx) {
					continue // redo with fenced reads
				}
			}
			return v, err
		}
		if i+1 >= maxAttempts {
			m.log.Warn("write contention: giving up", "attempts", maxAttempts)
			return zero, errorf(CodeTooManyReqs, "too many concurrent modifications; retry the request")
		}
		d := time.Duration(rand.Int64N(int64(time.Millisecond) * int64(min(i+1, 10))))
		select {
		case <-ctx.Done():
			return zero, internal("request cancelled", ctx.Err())
		case <-time.After(d):
		}
	}
}

// commit runs a store transaction, turning a failed comparison into
// errRetry and any other failure into an internal error.
func (m *Manager) commit(ctx context.Context, cmps []store.Compare, ops []store.Op) error {
	_, err := m.st.Txn(ctx, cmps, ops)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrConflict):
		return errRetry
	default:
		return internal("store write failed", err)
	}
}

// load reads one resource. It returns (nil, 0, nil) when it does not exist.
func (m *Manager) load(ctx context.Context, id appmesh.Identity) (*record, int64, error) {
	kv, err := m.st.Get(ctx, resourceKey(id))
	if errors.Is(err, store.ErrNotFound) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, internal("store read failed", err)
	}
	r, err := decodeRecord(kv.Value)
	if err != nil {
		return nil, 0, internal("stored resource is corrupt", err)
	}
	return r, kv.ModRevision, nil
}
