package audit

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Defaults for Options.
const (
	DefaultMaxFileBytes = 64 << 20
	DefaultMaxFiles     = 16
	// MaxRecordBytes bounds one encoded record, its newline included. A
	// larger one keeps its
	// identity fields but has its requestParameters and responseElements
	// replaced by a note of their size.
	MaxRecordBytes = 1 << 20
	// EventVersion is the CloudTrail record version written.
	EventVersion = "1.08"
)

// ErrClosed is returned by Append after Close.
var ErrClosed = errors.New("audit: log closed")

// Options configure a Log.
type Options struct {
	Dir          string // created (0700) if missing
	MaxFileBytes int64  // rotate before a file would exceed this; DefaultMaxFileBytes if 0
	MaxFiles     int    // files kept, the current one included; DefaultMaxFiles if 0
	Logger       *slog.Logger
	// Registerer receives the Log's metrics; nil registers nothing (see
	// Log.Collectors).
	Registerer prometheus.Registerer
	// Now is the clock for EventTime; time.Now if nil.
	Now func() time.Time
	// CommitDelay bounds how long a leader under load (its previous
	// commit covered more than one record) waits for more records before
	// it writes and syncs; it stops waiting once 64 are queued.
	// DefaultCommitDelay if 0; negative: never wait.
	CommitDelay time.Duration
}

// Log is an append-only, durable, size-rotated audit log. It is safe for
// concurrent use and starts no goroutine: the appending callers commit
// (see Append).
type Log struct {
	opts Options
	log  *slog.Logger
	m    *metrics
	// entries recycles entries and their line buffers. Owner: this Log.
	// Bound: idle entries are dropped at GC, and a buffer over
	// maxPooledLine is not kept (see release). No invalidation: an entry is
	// reset when taken.
	entries sync.Pool

	mu      sync.Mutex
	pending []*entry // queued, not yet taken by a leader
	leading bool     // a leader holds the file (or is being handed it)
	closed  bool
	idle    *sync.Cond // on mu: signalled when leading becomes false
	want    int        // a leader in gather waits for len(pending) >= want; 0: none waits

	full  chan struct{} // capacity 1: wakes the leader in gather
	timer *time.Timer   // gather's bound; used by the leader only

	// Owned by the leader (and by Open and Close when no leader exists).
	lastBatch int // records in the last commit
	f         *os.File
	seq       uint64
	size      int64
	broken    error  // sticky write/fsync failure
	buf       []byte // the batch being written
	spare     []*entry
}

type entry struct {
	line []byte
	done chan error // capacity 1: the commit's result, or errLead
	lead bool       // set under mu when this entry was handed leadership
}

// errLead, sent on an entry's done channel, hands its caller the leader's
// role: it commits the queued batch (its own record included).
var errLead = errors.New("audit: lead the next commit")

// Open opens (or creates) the log in opts.Dir, cuts a torn last line left by
// a crash, and starts the writer.
func Open(opts Options) (*Log, error) {
	if opts.Dir == "" {
		return nil, errors.New("audit: Options.Dir is empty")
	}
	if opts.MaxFileBytes <= 0 {
		opts.MaxFileBytes = DefaultMaxFileBytes
	}
	if opts.MaxFiles <= 0 {
		opts.MaxFiles = DefaultMaxFiles
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.CommitDelay == 0 {
		opts.CommitDelay = DefaultCommitDelay
	}
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	l := &Log{opts: opts, log: opts.Logger}
	l.idle = sync.NewCond(&l.mu)
	l.full = make(chan struct{}, 1)
	l.timer = time.NewTimer(time.Hour)
	l.timer.Stop()
	l.entries.New = func() any { return &entry{done: make(chan error, 1)} }
	if err := l.openCurrent(); err != nil {
		return nil, err
	}
	l.m = newMetrics(opts.Registerer, l.log)
	return l, nil
}

// openCurrent opens the newest file for appending, or creates the first.
func (l *Log) openCurrent() error {
	files, err := listFiles(l.opts.Dir)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return l.create(1)
	}
	last := files[len(files)-1]
	f, err := os.OpenFile(last.path, os.O_RDWR|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	size, cut, err := repairTail(f)
	if err != nil {
		f.Close()
		return err
	}
	if cut > 0 {
		l.log.Warn("audit: cut a torn last record left by a crash (its call was never acknowledged)",
			"file", last.path, "bytes", cut)
	}
	l.f, l.seq, l.size = f, last.seq, size
	return nil
}

// create starts file seq and makes its name durable.
func (l *Log) create(seq uint64) error {
	path := l.opts.Dir + string(os.PathSeparator) + fileName(seq)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	if err := syncDir(l.opts.Dir); err != nil {
		f.Close()
		return err
	}
	l.f, l.seq, l.size = f, seq, 0
	return nil
}

// Collectors returns the Log's Prometheus collectors, for a caller that
// registers them itself.
func (l *Log) Collectors() []prometheus.Collector { return l.m.collectors() }

// Append redacts and encodes r, fills EventVersion, EventTime, EventID and
// EventType when empty, and returns once the record is written and synced
// (fdatasync).
// r is not modified. If ctx ends while the record is still queued, Append
// withdraws it and returns ctx's error; once a commit has taken it, Append
// waits for that commit.
//
// Group commit without a writer goroutine: the caller that finds no commit
// in progress leads one. It takes every queued record, writes them with one
// write and covers them with one fdatasync, answers the others, and hands
// the leader's role to the first record queued meanwhile.
func (l *Log) Append(ctx context.Context, r *Record) error {
	e := l.entries.Get().(*entry)
	e.lead = false
	line, err := l.encode(e.line[:0], r)
	e.line = line
	if err != nil {
		l.release(e)
		l.m.errors.Inc()
		return err
	}
	if err := ctx.Err(); err != nil {
		l.release(e)
		return err
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		l.release(e)
		l.m.errors.Inc()
		return ErrClosed
	}
	l.pending = append(l.pending, e)
	l.queued()
	lead := !l.leading
	l.leading = true
	l.mu.Unlock()
	if !lead {
		if err = l.wait(ctx, e); err != errLead {
			l.release(e)
			return err
		}
	}
	err = l.lead(e)
	l.release(e)
	return err
}

// maxPooledLine is the largest line buffer release keeps for reuse; an
// entry that held a larger record goes back to the pool without it.
const maxPooledLine = 64 << 10

// release returns e to the pool once its caller is done with it.
func (l *Log) release(e *entry) {
	if cap(e.line) > maxPooledLine {
		e.line = nil
	}
	l.entries.Put(e)
}

// wait waits for e's commit, or for the leader's role (errLead). If ctx
// ends while e is still queued and not handed the lead, e is withdrawn.
func (l *Log) wait(ctx context.Context, e *entry) error {
	select {
	case err := <-e.done:
		return err
	case <-ctx.Done():
	}
	l.mu.Lock()
	if i := slices.Index(l.pending, e); i >= 0 && !e.lead {
		l.pending = slices.Delete(l.pending, i, i+1)
		l.mu.Unlock()
		return fmt.Errorf("audit: waiting for fsync: %w", ctx.Err())
	}
	l.mu.Unlock()
	// Taken by a commit, or handed the lead: neither may be abandoned.
	return <-e.done
}

// encode appends the record's JSON line to b.
func (l *Log) encode(b []byte, r *Record) ([]byte, error) {
	c := *r
	if c.EventVersion == "" {
		c.EventVersion = EventVersion
	}
	if c.EventTime == "" {
		c.EventTime = l.opts.Now().UTC().Format(time.RFC3339)
	}
	if c.EventID == "" {
		c.EventID = newEventID()
	}
	if c.EventType == "" {
		c.EventType = "AwsApiCall"
	}
	out, err := encodeRecord(b, &c)
	if err != nil {
		return b, err
	}
	if n := len(out) - len(b); n+1 > MaxRecordBytes {
		l.m.truncated.Inc()
		note := map[string]any{"trellisTruncated": true, "recordBytes": n}
		c.RequestParameters, c.ResponseElements = note, note
		if out, err = encodeRecord(b, &c); err != nil {
			return b, err
		}
	}
	return append(out, '\n'), nil
}

// encodeRecord appends r's JSON to b: appendRecord, or encoding/json for a
// record appendRecord declines.
func encodeRecord(b []byte, r *Record) ([]byte, error) {
	if out, ok := appendRecord(b, r); ok {
		return out, nil
	}
	j, err := jsonMarshalRecord(r)
	if err != nil {
		return b, fmt.Errorf("audit: encoding record: %w", err)
	}
	return append(b, j...), nil
}

// newEventID returns a random UUID (version 4), as CloudTrail's eventID.
func newEventID() string {
	var r [16]byte
	_, _ = rand.Read(r[:]) // crypto/rand.Read never fails
	r[6] = r[6]&0x0f | 0x40
	r[8] = r[8]&0x3f | 0x80
	var s [36]byte
	j := 0
	for i, x := range r {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			s[j] = '-'
			j++
		}
		s[j], s[j+1] = hexDigits[x>>4], hexDigits[x&0xf]
		j += 2
	}
	return string(s[:])
}

// Close waits for queued records to be committed (their leaders finish
// them) and closes the file. Appends after Close fail with ErrClosed.
func (l *Log) Close() error {
	l.mu.Lock()
	already := l.closed
	l.closed = true
	for l.leading {
		l.idle.Wait()
	}
	l.mu.Unlock()
	if already {
		return nil
	}
	if err := l.f.Close(); err != nil && !errors.Is(err, os.ErrClosed) {
		return fmt.Errorf("audit: close: %w", err)
	}
	return nil
}
