package audit

import (
	"fmt"
	"os"
	"time"
)

// writer is the one goroutine that writes: it takes every queued record,
// commits them with one fsync and answers each Append.
func (l *Log) writer() {
	defer close(l.done)
	for {
		l.mu.Lock()
		batch := l.pending
		l.pending = nil
		closed := l.closed
		l.mu.Unlock()
		if len(batch) == 0 {
			if closed {
				return
			}
			<-l.wake
			continue
		}
		err := l.commit(batch)
		if err != nil {
			l.m.errors.Add(float64(len(batch)))
		} else {
			l.m.records.Add(float64(len(batch)))
			l.m.batch.Observe(float64(len(batch)))
		}
		for _, e := range batch {
			e.done <- err
		}
	}
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
	var buf []byte
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

func (l *Log) sync() error {
	start := time.Now()
	err := l.f.Sync()
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
