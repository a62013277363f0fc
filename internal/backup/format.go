package backup

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"time"
)

// File layout, version 1 (all lengths and revisions are uvarints):
//
//	magic   "TRELLIS-BACKUP\n"
//	header  len, JSON Header
//	records 'R' keyLen key createRev modRev valueLen value   (Header.Keys times)
//	end     'E'
//	sum     SHA-256 of every byte before it (32 bytes)
//
// Keys are in ascending byte order, as List returns them. The trailing sum
// lets a reader reject a cut or altered file before it writes anything.
const (
	magic         = "TRELLIS-BACKUP\n"
	formatVersion = 1
	recordTag     = 'R'
	endTag        = 'E'

	// Bounds a reader applies to untrusted input, far above what Trellis
	// stores (App Mesh keys are short, resources a few KiB).
	maxHeaderLen = 64 << 10
	maxKeyLen    = 64 << 10
	maxValueLen  = 16 << 20
)

// ErrFormat is matched by every error about a file that is not a valid,
// complete backup.
var ErrFormat = errors.New("backup: not a valid Trellis backup file")

// Header describes a backup.
type Header struct {
	// Version is the format version (1).
	Version int `json:"version"`
	// Revision is the store revision the snapshot was read at.
	Revision int64 `json:"revision"`
	// Keys is the number of records that follow.
	Keys int `json:"keys"`
	// Created is when the snapshot was taken (UTC).
	Created time.Time `json:"created"`
}

// Record is one stored key. Revisions are those of the source store, kept
// for inspection; a restore writes new ones.
type Record struct {
	Key            string
	Value          []byte
	CreateRevision int64
	ModRevision    int64
}

// Write writes a complete backup of recs, taken at header.Revision, to w.
// It sets header.Version and header.Keys. It refuses what Read would
// refuse (keys not strictly ascending, a key or value over its bound), so
// a backup that was written can always be restored.
func Write(w io.Writer, header Header, recs []Record) error {
	for i, r := range recs {
		switch {
		case i > 0 && r.Key <= recs[i-1].Key:
			return fmt.Errorf("backup: key %q out of order", r.Key)
		case len(r.Key) > maxKeyLen || len(r.Value) > maxValueLen:
			return fmt.Errorf("backup: key %.64q: key or value larger than a backup holds (%d, %d bytes)", r.Key, maxKeyLen, maxValueLen)
		}
	}
	header.Version, header.Keys = formatVersion, len(recs)
	h := sha256.New()
	bw := bufio.NewWriter(io.MultiWriter(w, h))
	hdr, err := json.Marshal(header)
	if err != nil {
		return fmt.Errorf("backup: encode header: %w", err)
	}
	var buf []byte
	buf = append(buf, magic...)
	buf = binary.AppendUvarint(buf, uint64(len(hdr)))
	buf = append(buf, hdr...)
	if _, err := bw.Write(buf); err != nil {
		return fmt.Errorf("backup: write: %w", err)
	}
	for _, r := range recs {
		buf = append(buf[:0], recordTag)
		buf = binary.AppendUvarint(buf, uint64(len(r.Key)))
		buf = append(buf, r.Key...)
		buf = binary.AppendUvarint(buf, uint64(r.CreateRevision))
		buf = binary.AppendUvarint(buf, uint64(r.ModRevision))
		buf = binary.AppendUvarint(buf, uint64(len(r.Value)))
		if _, err := bw.Write(buf); err != nil {
			return fmt.Errorf("backup: write: %w", err)
		}
		if _, err := bw.Write(r.Value); err != nil {
			return fmt.Errorf("backup: write: %w", err)
		}
	}
	if err := bw.WriteByte(endTag); err != nil {
		return fmt.Errorf("backup: write: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("backup: write: %w", err)
	}
	if _, err := w.Write(h.Sum(nil)); err != nil {
		return fmt.Errorf("backup: write: %w", err)
	}
	return nil
}

// Read reads and verifies a complete backup. It returns an error matching
// ErrFormat unless the file is whole, its sum matches, its keys are
// strictly ascending and nothing follows the sum.
func Read(r io.Reader) (Header, []Record, error) {
	rd := &reader{r: &hashingReader{br: bufio.NewReader(r), h: sha256.New()}}
	header, recs, err := rd.read()
	if err != nil {
		return Header{}, nil, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	return header, recs, nil
}

type reader struct {
	r *hashingReader
}

// hashingReader hashes exactly the bytes consumed from it (bufio reads
// ahead, so hashing below it would hash too much).
type hashingReader struct {
	br  *bufio.Reader
	h   hash.Hash
	one [1]byte
}

func (x *hashingReader) Read(p []byte) (int, error) {
	n, err := x.br.Read(p)
	x.h.Write(p[:n])
	return n, err
}

func (x *hashingReader) ReadByte() (byte, error) {
	b, err := x.br.ReadByte()
	if err == nil {
		x.one[0] = b
		x.h.Write(x.one[:])
	}
	return b, err
}

func (rd *reader) read() (Header, []Record, error) {
	m := make([]byte, len(magic))
	if _, err := io.ReadFull(rd.r, m); err != nil || string(m) != magic {
		return Header{}, nil, errors.New("no backup magic at the start")
	}
	hdr, err := rd.bytes(maxHeaderLen, "header")
	if err != nil {
		return Header{}, nil, err
	}
	var header Header
	if err := json.Unmarshal(hdr, &header); err != nil {
		return Header{}, nil, fmt.Errorf("header: %w", err)
	}
	if header.Version != formatVersion {
		return Header{}, nil, fmt.Errorf("format version %d, this trellis reads %d", header.Version, formatVersion)
	}
	if header.Keys < 0 {
		return Header{}, nil, fmt.Errorf("header: %d keys", header.Keys)
	}
	recs, err := rd.records(header.Keys)
	if err != nil {
		return Header{}, nil, err
	}
	return header, recs, rd.trailer()
}

func (rd *reader) records(n int) ([]Record, error) {
	// Capacity from the header is bounded: a lying header costs nothing.
	recs := make([]Record, 0, min(n, 1<<16))
	for i := range n {
		rec, err := rd.record()
		if err != nil {
			return nil, fmt.Errorf("record %d: %w", i, err)
		}
		if i > 0 && rec.Key <= recs[i-1].Key {
			return nil, fmt.Errorf("record %d: key %q out of order", i, rec.Key)
		}
		recs = append(recs, rec)
	}
	return recs, nil
}

func (rd *reader) record() (Record, error) {
	tag, err := rd.r.ReadByte()
	if err != nil || tag != recordTag {
		return Record{}, errors.New("cut short or not a record")
	}
	key, err := rd.bytes(maxKeyLen, "key")
	if err != nil {
		return Record{}, err
	}
	createRev, err1 := binary.ReadUvarint(rd.r)
	modRev, err2 := binary.ReadUvarint(rd.r)
	if err := errors.Join(err1, err2); err != nil {
		return Record{}, fmt.Errorf("revisions: %w", err)
	}
	val, err := rd.bytes(maxValueLen, "value")
	if err != nil {
		return Record{}, err
	}
	return Record{Key: string(key), Value: val, CreateRevision: int64(createRev), ModRevision: int64(modRev)}, nil
}

// trailer checks the end tag, the sum and that nothing follows.
func (rd *reader) trailer() error {
	if tag, err := rd.r.ReadByte(); err != nil || tag != endTag {
		return errors.New("no end marker after the last record (cut short?)")
	}
	want := rd.r.h.Sum(nil) // every byte up to and including the end tag
	got := make([]byte, len(want))
	if _, err := io.ReadFull(rd.r.br, got); err != nil {
		return errors.New("checksum cut short")
	}
	if !bytes.Equal(got, want) {
		return errors.New("checksum mismatch: the file was altered or damaged")
	}
	if _, err := rd.r.br.ReadByte(); err != io.EOF {
		return errors.New("unexpected bytes after the checksum")
	}
	return nil
}

// bytes reads one uvarint-length-prefixed byte string of at most max bytes.
func (rd *reader) bytes(max uint64, what string) ([]byte, error) {
	n, err := binary.ReadUvarint(rd.r)
	if err != nil {
		return nil, fmt.Errorf("%s length: %w", what, err)
	}
	if n > max {
		return nil, fmt.Errorf("%s length %d exceeds %d", what, n, max)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(rd.r, b); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return b, nil
}
