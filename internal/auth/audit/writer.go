package audit

import (
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// lead runs one commit as the leader: under load it first waits, boundedly,
// for more records (gather); then it takes every queued record (own, the
// caller's, among them), writes and syncs them, answers the others, and
// then hands the leader's role to the first record queued meanwhile, or
// gives it up when there is none. It returns own's result. Everything a
// leader owns is settled before the hand-off.
func (l *Log) lead(own *entry) error {
	l.gather()
	l.mu.Lock()
	batch := l.pending
	l.pending, l.spare = l.spare, nil
	l.mu.Unlock()
	err := l.commit(batch)
	l.lastBatch = len(batch)
	if err != nil {
		l.m.errors.Add(float64(len(batch)))
	} else {
		l.m.records.Add(float64(len(batch)))
		l.m.batch.Observe(float64(len(batch)))
	}
	for _, e := range batch {
		if e != own {
			e.done <- err
		}
	}
	clear(batch)
	l.spare = batch[:0]
	l.mu.Lock()
	if len(l.pending) == 0 {
		l.leading = false
		l.idle.Broadcast()
		l.mu.Unlock()
		return err
	}
	next := l.pending[0]
	next.lead = true
	l.mu.Unlock()
	next.done <- errLead
	return err
}

// commit writes a batch, rotating where a file would exceed MaxFileBytes,
// and fsyncs. Any failure breaks the log for good.
func (l *Log) commit(batch []*entry) error {
	if l.broken != nil {
		return l.broken
	}
	if err := l.writeBatch(batch); err != nil {
		l.broken = err
		l.log.Error("audit log failed; every later audited call will fail", "err", err)
		return err
	}
	return nil
}

func (l *Log) writeBatch(batch []*entry) error {
	buf := l.buf[:0]
	defer func() { l.buf = buf[:0] }()
	for _, e := range batch {
		if l.size+int64(len(buf)) > 0 && l.size+int64(len(buf)+len(e.line)) > l.opts.MaxFileBytes {
			if err := l.write(buf); err != nil {
				return err
			}
			buf = buf[:0]
			if err := l.rotate(); err != nil {
				return err
			}
		}
		buf = append(buf, e.line...)
	}
	if err := l.write(buf); err != nil {
		return err
	}
	return l.sync()
}

// write appends b to the current file.
func (l *Log) write(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	n, err := l.f.Write(b)
	l.size += int64(n)
	if err != nil {
		return fmt.Errorf("audit: write %s: %w", l.f.Name(), err)
	}
	return nil
}

// sync makes the written bytes durable with fdatasync: the data and the
// file size (which reading them needs), without the timestamps fsync would
// also flush.
func (l *Log) sync() error {
	start := time.Now()
	err := ignoringEINTR(func() error { return unix.Fdatasync(int(l.f.Fd())) })
	l.m.fsync.Observe(time.Since(start).Seconds())
	if err != nil {
		return fmt.Errorf("audit: fsync %s: %w", l.f.Name(), err)
	}
	return nil
}

// rotate fsyncs and closes the current file, starts the next one and
// removes the oldest files beyond MaxFiles.
func (l *Log) rotate() error {
	if err := l.sync(); err != nil {
		return err
	}
	if err := l.f.Close(); err != nil {
		return fmt.Errorf("audit: close: %w", err)
	}
	if err := l.create(l.seq + 1); err != nil {
		return err
	}
	l.m.rotations.Inc()
	if err := l.prune(); err != nil {
		// Old files left behind cost disk, not audit records: keep going.
		l.log.Warn("audit: pruning old files", "err", err)
	}
	return nil
}

// prune removes the oldest files so that at most MaxFiles remain.
func (l *Log) prune() error {
	files, err := listFiles(l.opts.Dir)
	if err != nil {
		return err
	}
	for len(files) > l.opts.MaxFiles {
		if err := os.Remove(files[0].path); err != nil {
			return fmt.Errorf("audit: removing old file: %w", err)
		}
		l.log.Info("audit: removed oldest file (MaxFiles)", "file", files[0].path)
		files = files[1:]
	}
	return syncDir(l.opts.Dir)
}

// ignoringEINTR retries fn while it is interrupted by a signal (the Go
// runtime's preemption signals interrupt slow syscalls).
func ignoringEINTR(fn func() error) error {
	for {
		err := fn()
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}
