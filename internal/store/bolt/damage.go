package bolt

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
)

// ErrDamaged is matched (errors.Is) by every error Open returns for a store
// file that exists but cannot be trusted. The concrete error is a
// *DamagedError naming the file, what is wrong and what to do.
var ErrDamaged = errors.New("store/bolt: damaged store file")

// DamagedError says which store file is damaged and how. Open returns it
// before anything is served from the file.
type DamagedError struct {
	Path   string
	Reason string
}

func (e *DamagedError) Error() string {
	return fmt.Sprintf("store file %s is damaged: %s. Nothing was served from it. "+
		"Restore the last backup into an empty data directory with `trellis restore`, "+
		"or move the file aside to start with an empty store", e.Path, e.Reason)
}

// Is makes errors.Is(err, ErrDamaged) hold.
func (e *DamagedError) Is(target error) bool { return target == ErrDamaged }

func damaged(path, format string, args ...any) error {
	return &DamagedError{Path: path, Reason: fmt.Sprintf(format, args...)}
}

// bbolt on-disk layout, as far as preflight reads it (format version 2): a
// page starts with a 16-byte header; a meta page holds, after the header,
// magic, version, pageSize, flags (4 bytes each), the root bucket (root
// pgid, sequence), freelist pgid, high-water pgid, txid (8 bytes each) and
// an FNV-64a checksum of the fields before it. Integers are in the
// machine's byte order.
const (
	boltMagic      = 0xED0CDAED
	boltVersion    = 2
	pageHeaderLen  = 16
	metaSumEnd     = pageHeaderLen + 56 // checksum covers [pageHeaderLen, metaSumEnd)
	metaLen        = metaSumEnd + 8
	minPageSize    = 1024
	maxPageSize    = 64 * 1024
	defaultPgSize  = 4096
	firstDataPages = 2 // pages 0 and 1 are the meta pages
)

// meta is the part of a bbolt meta page preflight needs.
type meta struct {
	pageSize uint32
	pgid     uint64 // high-water mark: pages [0, pgid) are in use
	txid     uint64
}

// parseMeta decodes and validates one meta page; the error says why the
// page is not a valid meta page.
func parseMeta(b []byte) (meta, error) {
	if len(b) < metaLen {
		return meta{}, errors.New("cut short")
	}
	ne := binary.NativeEndian
	if ne.Uint32(b[pageHeaderLen:]) != boltMagic {
		return meta{}, errors.New("not a bbolt meta page (bad magic)")
	}
	if v := ne.Uint32(b[pageHeaderLen+4:]); v != boltVersion {
		return meta{}, fmt.Errorf("unsupported bbolt format version %d", v)
	}
	h := fnv.New64a()
	h.Write(b[pageHeaderLen:metaSumEnd])
	if h.Sum64() != ne.Uint64(b[metaSumEnd:]) {
		return meta{}, errors.New("checksum mismatch")
	}
	m := meta{
		pageSize: ne.Uint32(b[pageHeaderLen+8:]),
		pgid:     ne.Uint64(b[pageHeaderLen+40:]),
		txid:     ne.Uint64(b[pageHeaderLen+48:]),
	}
	if m.pageSize < minPageSize || m.pageSize > maxPageSize || m.pageSize&(m.pageSize-1) != 0 {
		return meta{}, fmt.Errorf("impossible page size %d", m.pageSize)
	}
	if m.pgid < firstDataPages {
		return meta{}, fmt.Errorf("impossible page count %d", m.pgid)
	}
	return m, nil
}

// preflight inspects the file at path with plain reads, before bbolt maps
// it into memory, so that damage bbolt would only meet as a bus error
// (pages beyond the end of a truncated file) becomes an error. It reports
// whether the file exists; a missing file is a new store.
func preflight(path string) (exists bool, err error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store/bolt: open %s: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return true, fmt.Errorf("store/bolt: stat %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return true, fmt.Errorf("store/bolt: %s is not a regular file", path)
	}
	size := fi.Size()
	if size == 0 {
		return true, damaged(path, "the file is empty (0 bytes); only a missing file starts a new store")
	}
	m, err := newestMeta(f, size)
	if err != nil {
		return true, damaged(path, "%v", err)
	}
	if need := int64(m.pgid) * int64(m.pageSize); size < need {
		return true, damaged(path, "the file is truncated: it has %d bytes, but its newest meta page (transaction %d) counts %d pages of %d bytes (%d bytes)",
			size, m.txid, m.pgid, m.pageSize, need)
	}
	return true, nil
}

// newestMeta returns the valid meta page with the highest txid, which is
// the one bbolt opens. One invalid meta page is tolerated, as bbolt does:
// it is the trace of a commit torn before it was acknowledged.
func newestMeta(f io.ReaderAt, size int64) (meta, error) {
	m0, err0 := readMeta(f, 0)
	// Page 1 sits one page in; its size is known from page 0, or guessed
	// the way bbolt guesses it when page 0 is unreadable.
	sizes := []int64{defaultPgSize}
	if err0 == nil {
		sizes = []int64{int64(m0.pageSize)}
	} else {
		for ps := int64(minPageSize); ps <= maxPageSize; ps *= 2 {
			if ps != defaultPgSize {
				sizes = append(sizes, ps)
			}
		}
	}
	m1, err1 := meta{}, error(nil)
	for i, ps := range sizes {
		m, err := meta{}, errors.New("cut short")
		if ps < size {
			m, err = readMeta(f, ps)
		}
		if err == nil {
			m1, err1 = m, nil
			break
		}
		if i == 0 { // report why the most likely position failed
			err1 = err
		}
	}
	switch {
	case err0 != nil && err1 != nil:
		return meta{}, fmt.Errorf("neither meta page is valid (page 0: %v; page 1: %v)", err0, err1)
	case err0 != nil:
		return m1, nil
	case err1 != nil || m0.txid > m1.txid:
		return m0, nil
	}
	return m1, nil
}

func readMeta(f io.ReaderAt, off int64) (meta, error) {
	b := make([]byte, metaLen)
	n, err := f.ReadAt(b, off)
	if err != nil && !errors.Is(err, io.EOF) {
		return meta{}, err
	}
	return parseMeta(b[:n])
}
