package bolt

import (
	"errors"
	"fmt"
	"runtime/debug"

	bbolt "go.etcd.io/bbolt"
	bberrors "go.etcd.io/bbolt/errors"
)

// openChecked opens the bbolt file and, unless it was just created,
// verifies all of it before anything reads it for real:
//
//   - every record of every bucket is walked through bbolt's cursors and
//     decoded as this package's format;
//   - bbolt's own consistency check (Tx.Check) then verifies the page
//     structure: no page referenced twice, none lost, keys in order,
//     freelist sane.
//
// bbolt reads a memory map and panics (or faults) on pages that are not
// what their parents claim. Both steps run on a goroutine with
// debug.SetPanicOnFault, so a fault on a bad page address becomes a panic,
// and the panic becomes a *DamagedError instead of a crash. The walk comes
// first because Tx.Check reads pages on a goroutine of its own, where a
// fault could not be caught; after a clean walk, the pages it reads are
// known to be mapped.
func openChecked(path string, opts *bbolt.Options, existed bool) (*bbolt.DB, error) {
	type result struct {
		db  *bbolt.DB
		err error
	}
	ch := make(chan result, 1)
	go func() {
		var db *bbolt.DB
		defer func() {
			if r := recover(); r != nil {
				if db != nil {
					_ = db.Close()
				}
				ch <- result{err: damaged(path, "reading it failed: %s", describePanic(r))}
			}
		}()
		debug.SetPanicOnFault(true)
		var err error
		db, err = bbolt.Open(path, 0o600, opts)
		if err != nil {
			ch <- result{err: openError(path, err)}
			return
		}
		if existed {
			if err := verify(db); err != nil {
				_ = db.Close()
				ch <- result{err: damaged(path, "%v", err)}
				return
			}
		}
		ch <- result{db: db}
	}()
	r := <-ch
	return r.db, r.err
}

// describePanic turns what bbolt panicked with into a reason. A fault
// (from SetPanicOnFault) carries the bad address, which says nothing to an
// operator; what it means is a page reference outside the file.
func describePanic(r any) string {
	if _, fault := r.(interface{ Addr() uintptr }); fault {
		return "a page reference points outside the file (memory fault)"
	}
	return fmt.Sprint(r)
}

// openError classifies an error of bbolt.Open: format errors are damage,
// anything else (permissions, the lock held by another process) is not.
func openError(path string, err error) error {
	for _, format := range []error{bberrors.ErrInvalid, bberrors.ErrVersionMismatch, bberrors.ErrChecksum, bberrors.ErrInvalidMapping} {
		if errors.Is(err, format) {
			return damaged(path, "bbolt cannot open it: %v", err)
		}
	}
	return fmt.Errorf("store/bolt: open %s: %w", path, err)
}

// verify walks every record, then runs bbolt's consistency check. It
// returns the first problem found.
func verify(db *bbolt.DB) error {
	return db.View(func(tx *bbolt.Tx) error {
		if err := walk(tx); err != nil {
			return err
		}
		var first error
		// Drain every error, so the checker goroutine ends.
		for err := range tx.Check() {
			if first == nil {
				first = err
			}
		}
		if first != nil {
			return fmt.Errorf("consistency check failed: %w", first)
		}
		return nil
	})
}

// walk reads every record of the three buckets and decodes it. Buckets a
// new file lacks are created later by initBuckets, so absence is fine.
func walk(tx *bbolt.Tx) error {
	if b := tx.Bucket(bucketKV); b != nil {
		err := b.ForEach(func(k, v []byte) error {
			_, _, err := kvRevs(v)
			if err != nil {
				return fmt.Errorf("bucket kv, key %q: %w", k, err)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	if b := tx.Bucket(bucketLog); b != nil {
		err := b.ForEach(func(k, v []byte) error {
			if len(k) != 8 {
				return fmt.Errorf("bucket log, key %x: %w", k, errCorrupt)
			}
			_, err := decodeEvents(decodeRev(k), v)
			return err
		})
		if err != nil {
			return err
		}
	}
	if b := tx.Bucket(bucketMeta); b != nil {
		return b.ForEach(func(k, v []byte) error {
			if len(v) != 8 {
				return fmt.Errorf("bucket meta, key %q: %w", k, errCorrupt)
			}
			return nil
		})
	}
	return nil
}
