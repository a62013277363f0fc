package audit

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

const (
	filePrefix = "audit-"
	fileSuffix = ".jsonl"
)

// fileName is the name of the file with sequence number seq.
func fileName(seq uint64) string {
	return fmt.Sprintf("%s%016d%s", filePrefix, seq, fileSuffix)
}

// auditFile is one file of the log.
type auditFile struct {
	seq  uint64
	path string
}

// listFiles returns the directory's audit files, oldest first. Other files
// are ignored.
func listFiles(dir string) ([]auditFile, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("audit: reading %s: %w", dir, err)
	}
	var out []auditFile
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasPrefix(name, filePrefix) || !strings.HasSuffix(name, fileSuffix) {
			continue
		}
		seq, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(name, filePrefix), fileSuffix), 10, 64)
		if err != nil {
			continue
		}
		out = append(out, auditFile{seq: seq, path: filepath.Join(dir, name)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].seq < out[j].seq })
	return out, nil
}

// syncDir fsyncs a directory so that created and removed names are durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("audit: open dir: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("audit: sync dir: %w", err)
	}
	return nil
}

// completeLength returns the length of f's content up to and including its
// last newline: what remains when a torn last line (a record whose append
// never returned) is cut off.
func completeLength(f io.ReaderAt, size int64) (int64, error) {
	const chunk = 64 << 10
	buf := make([]byte, chunk)
	end := size
	for end > 0 {
		start := max(end-chunk, 0)
		n, err := f.ReadAt(buf[:end-start], start)
		if err != nil && err != io.EOF {
			return 0, fmt.Errorf("audit: reading tail: %w", err)
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			return start + int64(i) + 1, nil
		}
		end = start
	}
	return 0, nil
}

// repairTail cuts a torn last line off f and reports how many bytes it cut.
func repairTail(f *os.File) (size, cut int64, err error) {
	st, err := f.Stat()
	if err != nil {
		return 0, 0, fmt.Errorf("audit: stat: %w", err)
	}
	size = st.Size()
	good, err := completeLength(f, size)
	if err != nil || good == size {
		return size, 0, err
	}
	if err := f.Truncate(good); err != nil {
		return size, 0, fmt.Errorf("audit: truncating torn tail: %w", err)
	}
	if err := f.Sync(); err != nil {
		return size, 0, fmt.Errorf("audit: sync: %w", err)
	}
	return good, size - good, nil
}
