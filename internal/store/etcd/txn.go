package etcd

import (
	"context"
	"fmt"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/trellis-mesh/trellis/internal/store"
)

// mvccKV is etcd's stored key-value.
type mvccKV = mvccpb.KeyValue

// Txn implements store.Store as one etcd transaction: the comparisons are
// its If, the ops its Then. etcd rejects a transaction that writes one key
// twice, so only the last op per key is sent (the outcome the contract's
// in-order application gives).
func (s *Store) Txn(ctx context.Context, cmps []store.Compare, ops []store.Op) (int64, error) {
	if s.isClosed() {
		return 0, fmt.Errorf("store/etcd: txn: %w", store.ErrClosed)
	}
	ifs := make([]clientv3.Cmp, 0, len(cmps))
	for _, c := range cmps {
		cmp, err := s.compare(c)
		if err != nil {
			return 0, err
		}
		ifs = append(ifs, cmp)
	}
	then := s.ops(ops)
	if len(then) == 0 {
		// etcd 3.4 serves a transaction without any op from the local
		// member's state without a quorum read (serializable), so its
		// comparisons may see a stale revision. A linearizable range in
		// Then makes the whole transaction linearizable.
		then = []clientv3.Op{clientv3.OpGet(s.prefix, clientv3.WithCountOnly())}
	}
	resp, err := s.cli.Txn(ctx).If(ifs...).Then(then...).Commit()
	sess := sessionOf(ctx)
	if err != nil {
		if sess != nil {
			sess.reset() // it may or may not have committed
		}
		return 0, s.mapErr("txn", err)
	}
	if !resp.Succeeded {
		if sess != nil {
			sess.reset()
		}
		return 0, fmt.Errorf("store/etcd: txn: %w", store.ErrConflict)
	}
	if sess != nil {
		sess.committed(resp.Header.Revision)
	}
	return resp.Header.Revision, nil
}

// compare maps one store comparison to etcd's. etcd compares an absent
// key as ModRevision 0, and a range compare over no keys holds, which is
// exactly the contract of both kinds.
func (s *Store) compare(c store.Compare) (clientv3.Cmp, error) {
	key := s.prefix + c.Key
	switch {
	case c.Kind == store.ModRevisionEquals && !c.Prefix:
		return clientv3.Compare(clientv3.ModRevision(key), "=", c.Revision), nil
	case c.Kind == store.ModRevisionAtMost && c.Prefix:
		return clientv3.Compare(clientv3.ModRevision(key), "<", c.Revision+1).WithPrefix(), nil
	case c.Kind == store.ModRevisionAtMost:
		return clientv3.Compare(clientv3.ModRevision(key), "<", c.Revision+1), nil
	}
	return clientv3.Cmp{}, fmt.Errorf("store/etcd: txn: unsupported compare %+v", c)
}

// ops maps the writes, keeping the last op of each key in first-seen order.
func (s *Store) ops(ops []store.Op) []clientv3.Op {
	last := make(map[string]int, len(ops))
	for i, op := range ops {
		last[op.Key] = i
	}
	out := make([]clientv3.Op, 0, len(last))
	for i, op := range ops {
		if last[op.Key] != i {
			continue
		}
		if op.Delete {
			out = append(out, clientv3.OpDelete(s.prefix+op.Key))
		} else {
			out = append(out, clientv3.OpPut(s.prefix+op.Key, string(op.Value)))
		}
	}
	return out
}
