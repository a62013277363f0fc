package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/trellis-mesh/trellis/internal/store"
)

// ErrNotEmpty is returned by Restore when the target store holds any key.
var ErrNotEmpty = errors.New("backup: the target store is not empty")

// Restore batching: a Txn carries at most restoreOps writes (etcd's default
// --max-txn-ops is 128, counted separately for compares and writes) and
// about restoreBytes of values (etcd's default request limit is 1.5 MiB).
const (
	restoreOps   = 64
	restoreBytes = 512 << 10
)

// Snapshot reads every key of st at one revision. It relies on the store
// contract: a List without a limit returns its keys and the one revision
// they were read at (one bbolt read transaction; one etcd range read), so
// the snapshot is consistent while writes continue.
func Snapshot(ctx context.Context, st store.Store) (Header, []Record, error) {
	kvs, rev, err := st.List(ctx, "", store.ListOptions{})
	if err != nil {
		return Header{}, nil, fmt.Errorf("backup: read store: %w", err)
	}
	recs := make([]Record, len(kvs))
	for i, kv := range kvs {
		recs[i] = Record{Key: kv.Key, Value: kv.Value, CreateRevision: kv.CreateRevision, ModRevision: kv.ModRevision}
	}
	return Header{Revision: rev, Created: time.Now().UTC().Truncate(time.Second)}, recs, nil
}

// Dump writes a consistent snapshot of st to w and returns its header.
func Dump(ctx context.Context, st store.Store, w io.Writer) (Header, error) {
	h, recs, err := Snapshot(ctx, st)
	if err != nil {
		return Header{}, err
	}
	if err := Write(w, h, recs); err != nil {
		return Header{}, err
	}
	h.Version, h.Keys = formatVersion, len(recs)
	return h, nil
}

// Restore reads and verifies a whole backup from r, then writes every
// record into st, which must be empty (ErrNotEmpty otherwise). Nothing is
// written unless the file verifies. Values are written verbatim, so what
// lives in them (App Mesh versions, uids, timestamps, tags, registry
// instances) comes back exactly; store revisions are new. Each Txn also
// requires its keys to be absent, so a writer racing the restore makes it
// fail rather than be overwritten.
func Restore(ctx context.Context, st store.Store, r io.Reader) (Header, error) {
	h, recs, err := Read(r)
	if err != nil {
		return Header{}, err
	}
	return h, RestoreRecords(ctx, st, recs)
}

// RestoreRecords writes verified records (from Read) into st, which must
// be empty; see Restore.
func RestoreRecords(ctx context.Context, st store.Store, recs []Record) error {
	n, err := st.Count(ctx, "")
	if err != nil {
		return fmt.Errorf("backup: count target keys: %w", err)
	}
	if n > 0 {
		return fmt.Errorf("%w: it holds %d keys; restore only into an empty store", ErrNotEmpty, n)
	}
	for start := 0; start < len(recs); {
		end, size := start, 0
		for end < len(recs) && end-start < restoreOps && (end == start || size+len(recs[end].Value) <= restoreBytes) {
			size += len(recs[end].Value)
			end++
		}
		if err := restoreBatch(ctx, st, recs[start:end]); err != nil {
			return fmt.Errorf("backup: restore keys %d-%d of %d: %w", start, end-1, len(recs), err)
		}
		start = end
	}
	return nil
}

func restoreBatch(ctx context.Context, st store.Store, recs []Record) error {
	cmps := make([]store.Compare, len(recs))
	ops := make([]store.Op, len(recs))
	for i, r := range recs {
		cmps[i] = store.KeyAbsent(r.Key)
		ops[i] = store.Put(r.Key, r.Value)
	}
	_, err := st.Txn(ctx, cmps, ops)
	return err
}
