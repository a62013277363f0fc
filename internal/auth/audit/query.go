package audit

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"
)

// Filter selects records. Zero fields select everything.
type Filter struct {
	Start, End time.Time // eventTime in [Start, End)
	Principal  string    // userIdentity.arn, accessKeyId or principalId, exactly
	EventName  string    // eventName, case-insensitively
	Resource   string    // a substring of a resources ARN or of requestParameters
}

// Match reports whether r passes the filter.
func (f Filter) Match(r *Record) bool {
	if !f.Start.IsZero() || !f.End.IsZero() {
		t, err := time.Parse(time.RFC3339, r.EventTime)
		if err != nil || !f.Start.IsZero() && t.Before(f.Start) || !f.End.IsZero() && !t.Before(f.End) {
			return false
		}
	}
	if p := f.Principal; p != "" && p != r.UserIdentity.ARN && p != r.UserIdentity.AccessKeyID && p != r.UserIdentity.PrincipalID {
		return false
	}
	if f.EventName != "" && !strings.EqualFold(f.EventName, r.EventName) {
		return false
	}
	return f.Resource == "" || mentions(r, f.Resource)
}

func mentions(r *Record, s string) bool {
	for _, res := range r.Resources {
		if strings.Contains(res.ARN, s) {
			return true
		}
	}
	if r.RequestParameters == nil {
		return false
	}
	b, err := json.Marshal(r.RequestParameters)
	return err == nil && strings.Contains(string(b), s)
}

// Query calls fn for every record in dir that matches f, oldest first, and
// stops at fn's first error, which it returns. Lines that do not decode (a
// torn last line after a crash, or damage) are skipped with a warning on
// slog.Default().
func Query(dir string, f Filter, fn func(Record) error) error {
	return QueryLog(dir, f, slog.Default(), fn)
}

// QueryLog is Query with the logger that receives warnings about skipped
// lines.
func QueryLog(dir string, f Filter, log *slog.Logger, fn func(Record) error) error {
	files, err := listFiles(dir)
	if err != nil {
		return err
	}
	for _, af := range files {
		if err := queryFile(af.path, f, log, fn); err != nil {
			return err
		}
	}
	return nil
}

func queryFile(path string, f Filter, log *slog.Logger, fn func(Record) error) error {
	file, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil // rotated away since listing
	}
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	defer file.Close()
	return queryReader(file, path, f, log, fn)
}

// queryReader reads the records of one file's content; path names it in
// warnings.
func queryReader(in io.Reader, path string, f Filter, log *slog.Logger, fn func(Record) error) error {
	rd := bufio.NewReaderSize(in, 64<<10)
	for lineNo := 1; ; lineNo++ {
		line, complete, err := readLine(rd, 2*MaxRecordBytes)
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("audit: reading %s: %w", path, err)
		}
		if len(line) > 0 || !complete {
			if err := decodeLine(line, complete, path, lineNo, f, log, fn); err != nil {
				return err
			}
		}
		if err != nil {
			return nil
		}
	}
}

// decodeLine decodes one line and hands it to fn if it matches.
func decodeLine(line []byte, complete bool, path string, lineNo int, f Filter, log *slog.Logger, fn func(Record) error) error {
	var r Record
	if !complete {
		log.Warn("audit: skipping a torn or oversized line", "file", path, "line", lineNo, "bytes", len(line))
		return nil
	}
	if err := json.Unmarshal(line, &r); err != nil {
		log.Warn("audit: skipping a line that does not decode", "file", path, "line", lineNo, "err", err)
		return nil
	}
	if !f.Match(&r) {
		return nil
	}
	return fn(r)
}

// readLine reads one line without its newline. complete is false for a last
// line without a newline (torn) or a line longer than limit, whose rest is
// discarded. err is io.EOF at the end of the input.
func readLine(rd *bufio.Reader, limit int) (line []byte, complete bool, err error) {
	for {
		frag, err := rd.ReadSlice('\n')
		if len(line)+len(frag) <= limit {
			line = append(line, frag...)
		} else {
			complete = false
			line = line[:0:0]
			limit = -1 // oversized: keep discarding up to the newline
		}
		switch {
		case err == nil:
			if limit < 0 {
				return nil, false, nil
			}
			return line[:len(line)-1], true, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			if len(line) == 0 && limit >= 0 {
				return nil, true, io.EOF
			}
			return line, false, io.EOF
		default:
			return nil, false, err
		}
	}
}
