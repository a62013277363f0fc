package bolt

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	bbolt "go.etcd.io/bbolt"

	"github.com/trellis-mesh/trellis/internal/store"
)

const (
	// logScanWindow: a prefix comparison whose revision is at most this many
	// revisions old is checked against the log (cost ~ revisions since)
	// rather than by scanning every key under the prefix (cost ~ keys).
	logScanWindow = 64
	// trimPerCommit bounds the log entries one Txn trims. Every Txn adds one
	// entry, so trimming more than one per commit keeps the log at
	// HistoryLimit while never making a single commit slow (for instance
	// after reopening with a smaller limit).
	trimPerCommit = 8
)

// txnCall is the outcome of one Txn inside a bbolt transaction. bbolt's
// Batch may run the same function several times (it rolls the whole batch
// back when one member fails); apply therefore resets it on every run and
// only the run that committed is observed.
type txnCall struct {
	cmps     []store.Compare
	ops      []store.Op
	rev      int64
	conflict bool
}

// Txn implements store.Store. It returns once the commit is fsynced
// (unless Options.NoSync).
//
// A failed comparison is not reported to bbolt as an error: apply records it
// and writes nothing, so the other Txns of the batch are not rolled back and
// re-run. The caller still learns of the conflict only after the batch
// commits, because the comparison may have read writes of earlier Txns in
// the same batch that are durable only then.
func (s *Store) Txn(ctx context.Context, cmps []store.Compare, ops []store.Op) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if err := validate(cmps, ops); err != nil {
		return 0, err
	}
	if err := s.enter(); err != nil {
		return 0, err
	}
	defer s.closeMu.RUnlock()

	call := &txnCall{cmps: cmps, ops: copyOps(ops)}
	var err error
	if len(ops) == 0 {
		// Comparisons alone write nothing: a read transaction is atomic.
		err = s.db.View(func(tx *bbolt.Tx) error { return s.check(tx, call) })
	} else {
		err = s.commit(func(tx *bbolt.Tx) error { return s.apply(tx, call) })
	}
	if err != nil {
		return 0, fmt.Errorf("store/bolt: txn: %w", mapErr(err))
	}
	if call.conflict {
		return 0, store.ErrConflict
	}
	return call.rev, nil
}

// commit runs fn in a write transaction. Concurrent Txns go through
// bbolt's Batch to share one fsync; a Txn with no concurrent company commits
// at once, since Batch would only add MaxBatchDelay to its latency.
func (s *Store) commit(fn func(*bbolt.Tx) error) error {
	defer s.writers.Add(-1)
	if s.writers.Add(1) == 1 {
		return s.db.Update(fn)
	}
	return s.db.Batch(fn)
}

// validate rejects what bbolt would refuse mid-batch, so a bad Txn fails
// alone instead of forcing the batch to be re-run.
func validate(cmps []store.Compare, ops []store.Op) error {
	for _, c := range cmps {
		if c.Kind != store.ModRevisionEquals && c.Kind != store.ModRevisionAtMost {
			return fmt.Errorf("store/bolt: compare %q: unknown kind %d", c.Key, c.Kind)
		}
		if c.Prefix && c.Kind == store.ModRevisionEquals {
			return fmt.Errorf("store/bolt: compare %q: ModRevisionEquals with Prefix is not supported", c.Key)
		}
	}
	for _, op := range ops {
		if op.Key == "" || len(op.Key) > bbolt.MaxKeySize {
			return fmt.Errorf("store/bolt: op key length %d outside [1, %d]", len(op.Key), bbolt.MaxKeySize)
		}
		if len(op.Value) > bbolt.MaxValueSize-kvHeaderLen {
			return fmt.Errorf("store/bolt: op %q: value of %d bytes too large", op.Key, len(op.Value))
		}
	}
	return nil
}

// copyOps detaches values from the caller, who may reuse its buffers once
// Txn returns while watchers still hold the events.
func copyOps(ops []store.Op) []store.Op {
	out := make([]store.Op, len(ops))
	for i, op := range ops {
		out[i] = store.Op{Key: op.Key, Delete: op.Delete}
		if !op.Delete {
			out[i].Value = append([]byte{}, op.Value...)
		}
	}
	return out
}

// check evaluates the comparisons only (for Txns without ops).
func (s *Store) check(tx *bbolt.Tx, call *txnCall) error {
	call.rev = decodeRev(tx.Bucket(bucketMeta).Get(metaRev))
	ok, err := s.compare(tx, call.cmps, call.rev)
	call.conflict = !ok
	return err
}

// apply runs one Txn inside a write transaction: comparisons, writes, the
// log entry, the revision, trimming, and (on commit) the hub notification.
func (s *Store) apply(tx *bbolt.Tx, call *txnCall) error {
	meta := tx.Bucket(bucketMeta)
	cur := decodeRev(meta.Get(metaRev))
	call.rev, call.conflict = cur, false
	ok, err := s.compare(tx, call.cmps, cur)
	if err != nil || !ok {
		call.conflict = !ok
		return err
	}
	rev := cur + 1
	evs, err := writeOps(tx.Bucket(bucketKV), call.ops, rev)
	if err != nil || len(evs) == 0 {
		// Only deletions of absent keys: no new revision (allowed by the
		// contract), so watchers never see an empty revision.
		return err
	}
	if err := tx.Bucket(bucketLog).Put(revKey(rev), encodeEvents(evs)); err != nil {
		return fmt.Errorf("log revision %d: %w", rev, err)
	}
	if err := meta.Put(metaRev, revKey(rev)); err != nil {
		return fmt.Errorf("meta revision: %w", err)
	}
	if err := s.trim(tx, rev); err != nil {
		return err
	}
	call.rev = rev
	// Handlers of a rolled-back run are discarded with its transaction, so
	// only committed revisions reach watchers.
	tx.OnCommit(func() { s.hub.publish(rev, evs) })
	return nil
}

// writeOps applies ops in order under revision rev and returns their events.
func writeOps(kv *bbolt.Bucket, ops []store.Op, rev int64) ([]store.Event, error) {
	evs := make([]store.Event, 0, len(ops))
	for _, op := range ops {
		key := []byte(op.Key)
		old := kv.Get(key)
		if op.Delete {
			if old == nil {
				continue
			}
			prev := append([]byte{}, old[kvHeaderLen:]...)
			if err := kv.Delete(key); err != nil {
				return nil, fmt.Errorf("delete %q: %w", op.Key, err)
			}
			evs = append(evs, store.Event{Type: store.EventDelete,
				KV: store.KV{Key: op.Key, ModRevision: rev}, PrevValue: prev})
			continue
		}
		createRev := rev
		if old != nil {
			if createRev, _, _ = kvRevs(old); createRev == 0 {
				return nil, fmt.Errorf("key %q: %w", op.Key, errCorrupt)
			}
		}
		if err := kv.Put(key, encodeKV(createRev, rev, op.Value)); err != nil {
			return nil, fmt.Errorf("put %q: %w", op.Key, err)
		}
		evs = append(evs, store.Event{Type: store.EventPut, KV: store.KV{
			Key: op.Key, Value: op.Value, CreateRevision: createRev, ModRevision: rev}})
	}
	return evs, nil
}

// compare reports whether every comparison holds at revision cur.
func (s *Store) compare(tx *bbolt.Tx, cmps []store.Compare, cur int64) (bool, error) {
	kv := tx.Bucket(bucketKV)
	for _, c := range cmps {
		var ok bool
		var err error
		switch {
		case c.Prefix:
			ok, err = s.prefixAtMost(tx, c.Key, c.Revision, cur)
		default:
			var mod int64
			if raw := kv.Get([]byte(c.Key)); raw != nil {
				_, mod, err = kvRevs(raw)
			}
			ok = mod == c.Revision
			if c.Kind == store.ModRevisionAtMost {
				ok = mod <= c.Revision
			}
		}
		if err != nil || !ok {
			return false, err
		}
	}
	return true, nil
}

// prefixAtMost reports whether no existing key under prefix has a
// ModRevision above rev.
func (s *Store) prefixAtMost(tx *bbolt.Tx, prefix string, rev, cur int64) (bool, error) {
	if rev >= cur {
		return true, nil
	}
	compacted := decodeRev(tx.Bucket(bucketMeta).Get(metaCompacted))
	if cur-rev <= logScanWindow && rev >= compacted {
		return prefixAtMostFromLog(tx, prefix, rev)
	}
	p := []byte(prefix)
	c := tx.Bucket(bucketKV).Cursor()
	for k, v := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
		_, mod, err := kvRevs(v)
		if err != nil || mod > rev {
			return false, err
		}
	}
	return true, nil
}

// prefixAtMostFromLog checks the puts logged after rev: a key under prefix
// with ModRevision m > rev was necessarily put at m. A logged put whose key
// was deleted or rewritten since is confirmed against the kv bucket, because
// deletions must not count (etcd range-compare semantics).
func prefixAtMostFromLog(tx *bbolt.Tx, prefix string, rev int64) (bool, error) {
	kv := tx.Bucket(bucketKV)
	c := tx.Bucket(bucketLog).Cursor()
	for k, v := c.Seek(revKey(rev + 1)); k != nil; k, v = c.Next() {
		evs, err := decodeEvents(decodeRev(k), v)
		if err != nil {
			return false, err
		}
		for _, ev := range evs {
			if ev.Type != store.EventPut || !strings.HasPrefix(ev.KV.Key, prefix) {
				continue
			}
			if raw := kv.Get([]byte(ev.KV.Key)); raw != nil {
				if _, mod, err := kvRevs(raw); err != nil || mod > rev {
					return false, err
				}
			}
		}
	}
	return true, nil
}

// trim deletes the oldest log entries that fall outside HistoryLimit, a few
// per commit, and records the highest deleted revision as compacted.
func (s *Store) trim(tx *bbolt.Tx, rev int64) error {
	limit := rev - s.historyLimit
	if limit <= 0 {
		return nil
	}
	meta := tx.Bucket(bucketMeta)
	compacted := decodeRev(meta.Get(metaCompacted))
	if compacted >= limit {
		return nil
	}
	c := tx.Bucket(bucketLog).Cursor()
	trimmed := compacted
	for i := 0; i < trimPerCommit; i++ {
		k, _ := c.First()
		if k == nil || decodeRev(k) > limit {
			break
		}
		trimmed = decodeRev(k)
		if err := c.Delete(); err != nil {
			return fmt.Errorf("trim log revision %d: %w", trimmed, err)
		}
	}
	if trimmed == compacted {
		return nil
	}
	if err := meta.Put(metaCompacted, revKey(trimmed)); err != nil {
		return fmt.Errorf("meta compacted: %w", err)
	}
	return nil
}
