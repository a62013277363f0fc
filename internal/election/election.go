package election

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
)

// Elector tells whether this replica currently leads.
type Elector interface {
	// Run takes part in the election until ctx ends.
	Run(ctx context.Context) error
	// IsLeader reports whether this replica leads now.
	IsLeader() bool
}

// Local is the elector of a single replica: always the leader.
type Local struct{}

// Run implements Elector; it waits for ctx.
func (Local) Run(ctx context.Context) error { <-ctx.Done(); return nil }

// IsLeader implements Elector.
func (Local) IsLeader() bool { return true }

// DefaultTTL is the lease lifetime when Options.TTL is zero: how long a
// dead leader keeps leadership before another replica takes over.
const DefaultTTL = 10 * time.Second

// retryDelay is the pause between a lost session and the next campaign.
const retryDelay = time.Second

// Options configure an Etcd elector.
type Options struct {
	// Key is the election's etcd key prefix (e.g. "/trellis/election/").
	Key string
	// ID names this replica in logs and in the election value.
	ID string
	// TTL is the session lease lifetime; 0 means DefaultTTL.
	TTL time.Duration
	// Logger gets leadership changes; nil means slog.Default().
	Logger *slog.Logger
	// Registerer, when set, gets the trellis_election_leader gauge.
	Registerer prometheus.Registerer
}

// Etcd is an Elector on an etcd lease.
type Etcd struct {
	cli    *clientv3.Client
	cfg    *clientv3.Config // NewEtcdConfig: Run makes cli from it
	opts   Options
	log    *slog.Logger
	leader atomic.Bool
	gauge  prometheus.Gauge
}

// NewEtcd returns an elector on cli; call Run to campaign.
func NewEtcd(cli *clientv3.Client, opts Options) *Etcd {
	if opts.TTL <= 0 {
		opts.TTL = DefaultTTL
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	e := &Etcd{cli: cli, opts: opts, log: opts.Logger, gauge: prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "trellis_election_leader",
		Help: "1 while this replica holds leadership of the once-only work (registry expiry), else 0.",
	})}
	if opts.Registerer != nil {
		if err := opts.Registerer.Register(e.gauge); err != nil {
			e.log.Error("register election metric", "err", err)
		}
	}
	return e
}

// NewEtcdConfig is NewEtcd on a client of its own, made from cfg when Run
// starts, with Run's context as the client's, and closed when Run ends.
// concurrency.Election's clean-up after a cancelled campaign runs on the
// client's context; with a shared, long-lived client it would wait for an
// unreachable etcd forever and hold up shutdown.
func NewEtcdConfig(cfg clientv3.Config, opts Options) *Etcd {
	e := NewEtcd(nil, opts)
	e.cfg = &cfg
	return e
}

// IsLeader implements Elector.
func (e *Etcd) IsLeader() bool { return e.leader.Load() }

// Run implements Elector: it campaigns, holds leadership while its session
// lives, and campaigns again after losing it, until ctx ends (then it
// resigns, so another replica takes over at once).
func (e *Etcd) Run(ctx context.Context) error {
	if e.cfg != nil {
		cfg := *e.cfg
		cfg.Context = ctx
		cli, err := clientv3.New(cfg)
		if err != nil {
			return fmt.Errorf("election: etcd client: %w", err)
		}
		defer cli.Close()
		e.cli = cli
	}
	for {
		err := e.term(ctx)
		if ctx.Err() != nil {
			return nil
		}
		e.log.Warn("election: session ended; campaigning again", "id", e.opts.ID, "err", err)
		select {
		case <-time.After(retryDelay):
		case <-ctx.Done():
			return nil
		}
	}
}

// term is one session: campaign, then lead until the session ends.
func (e *Etcd) term(ctx context.Context) error {
	sess, err := concurrency.NewSession(e.cli, concurrency.WithTTL(int(e.opts.TTL/time.Second)),
		concurrency.WithContext(ctx))
	if err != nil {
		return fmt.Errorf("election: new session: %w", err)
	}
	defer sess.Close()
	el := concurrency.NewElection(sess, e.opts.Key)
	if err := e.campaign(ctx, sess, el); err != nil {
		return err
	}
	e.set(true)
	defer e.set(false)
	select {
	case <-sess.Done():
		return errors.New("election: lease lost")
	case <-ctx.Done():
		rctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := el.Resign(rctx); err != nil {
			e.log.Warn("election: resign", "id", e.opts.ID, "err", err)
		}
		return nil
	}
}

// campaign waits to become leader; it gives up when the session ends.
func (e *Etcd) campaign(ctx context.Context, sess *concurrency.Session, el *concurrency.Election) error {
	cctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		select {
		case <-sess.Done():
			cancel()
		case <-cctx.Done():
		}
	})
	err := el.Campaign(cctx, e.opts.ID)
	cancel()
	wg.Wait()
	if err != nil {
		return fmt.Errorf("election: campaign: %w", err)
	}
	return nil
}

func (e *Etcd) set(leader bool) {
	e.leader.Store(leader)
	if leader {
		e.gauge.Set(1)
		e.log.Info("election: this replica is now the leader", "id", e.opts.ID, "key", e.opts.Key)
		return
	}
	e.gauge.Set(0)
	e.log.Info("election: this replica is no longer the leader", "id", e.opts.ID, "key", e.opts.Key)
}
