package audit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
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
}

// Log is an append-only, durable, size-rotated audit log. It is safe for
// concurrent use. It owns one writer goroutine, stopped by Close.
type Log struct {
	opts Options
	log  *slog.Logger
	m    *metrics

	mu      sync.Mutex
	pending []*entry // queued by Append, taken whole by the writer
	closed  bool

	wake chan struct{} // capacity 1: "pending is not empty or closed is set"
	done chan struct{} // closed when the writer has exited

	// Owned by the writer goroutine (and by Open before it starts).
	f      *os.File
	seq    uint64
	size   int64
	broken error // sticky write/fsync failure
}

type entry struct {
	line []byte
	done chan error // capacity 1
}

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
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	l := &Log{opts: opts, log: opts.Logger, wake: make(chan struct{}, 1), done: make(chan struct{})}
	if err := l.openCurrent(); err != nil {
		return nil, err
	}
	l.m = newMetrics(opts.Registerer, l.log)
	go l.writer()
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
// EventType when empty, and returns once the record is written and fsynced.
// r is not modified. If ctx ends first Append returns its error; the record
// may still reach the disk.
func (l *Log) Append(ctx context.Context, r *Record) error {
	line, err := l.encode(r)
	if err != nil {
		l.m.errors.Inc()
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	e := &entry{line: line, done: make(chan error, 1)}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		l.m.errors.Inc()
		return ErrClosed
	}
	l.pending = append(l.pending, e)
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
	select {
	case err := <-e.done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("audit: waiting for fsync: %w", ctx.Err())
	}
}

// encode returns the record's JSON line.
func (l *Log) encode(r *Record) ([]byte, error) {
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
	c.RequestParameters = Redact(c.RequestParameters)
	c.ResponseElements = Redact(c.ResponseElements)
	b, err := json.Marshal(&c)
	if err != nil {
		return nil, fmt.Errorf("audit: encoding record: %w", err)
	}
	if len(b)+1 > MaxRecordBytes {
		l.m.truncated.Inc()
		note := map[string]any{"trellisTruncated": true, "recordBytes": len(b)}
		c.RequestParameters, c.ResponseElements = note, note
		if b, err = json.Marshal(&c); err != nil {
			return nil, fmt.Errorf("audit: encoding record: %w", err)
		}
	}
	return append(b, '\n'), nil
}

// newEventID returns a random UUID (version 4), as CloudTrail's eventID.
func newEventID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// Close waits for queued records to be committed, stops the writer and
// closes the file. Appends after Close fail with ErrClosed.
func (l *Log) Close() error {
	l.mu.Lock()
	already := l.closed
	l.closed = true
	l.mu.Unlock()
	if already {
		<-l.done
		return nil
	}
	select {
	case l.wake <- struct{}{}:
	default:
	}
	<-l.done
	if err := l.f.Close(); err != nil && !errors.Is(err, os.ErrClosed) {
		return fmt.Errorf("audit: close: %w", err)
	}
	return nil
}
