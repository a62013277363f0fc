package bolt

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/trellis-mesh/trellis/internal/store"
)

// Bucket and meta key names. They are part of the on-disk format.
var (
	bucketKV   = []byte("kv")
	bucketLog  = []byte("log")
	bucketMeta = []byte("meta")

	metaRev       = []byte("rev")
	metaCompacted = []byte("compacted")
)

// kvHeaderLen is the size of the revision header in front of every value.
const kvHeaderLen = 16

var errCorrupt = errors.New("store/bolt: corrupt record")

// revKey encodes a revision as a log key. Big-endian keeps bbolt's byte
// order equal to revision order, so a cursor walks history chronologically.
func revKey(rev int64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(rev))
	return b[:]
}

// decodeRev decodes an 8-byte revision; a missing value means revision 0.
func decodeRev(b []byte) int64 {
	if len(b) != 8 {
		return 0
	}
	return int64(binary.BigEndian.Uint64(b))
}

// encodeKV lays out one kv record: createRev, modRev, value.
func encodeKV(createRev, modRev int64, value []byte) []byte {
	b := make([]byte, kvHeaderLen+len(value))
	binary.BigEndian.PutUint64(b[0:8], uint64(createRev))
	binary.BigEndian.PutUint64(b[8:16], uint64(modRev))
	copy(b[kvHeaderLen:], value)
	return b
}

// kvRevs reads the revisions of a kv record without copying its value,
// which is all a comparison needs.
func kvRevs(b []byte) (createRev, modRev int64, err error) {
	if len(b) < kvHeaderLen {
		return 0, 0, errCorrupt
	}
	return int64(binary.BigEndian.Uint64(b[0:8])), int64(binary.BigEndian.Uint64(b[8:16])), nil
}

// decodeKV copies a kv record out of bbolt's memory map, which is only
// valid for the life of the transaction.
func decodeKV(key, b []byte) (store.KV, error) {
	createRev, modRev, err := kvRevs(b)
	if err != nil {
		return store.KV{}, fmt.Errorf("key %q: %w", key, err)
	}
	return store.KV{
		Key:            string(key),
		Value:          append([]byte{}, b[kvHeaderLen:]...),
		CreateRevision: createRev,
		ModRevision:    modRev,
	}, nil
}

// encodeEvents lays out the events of one revision as a sequence of
// type(1) keyLen key createRev valueLen value, lengths and revisions as
// uvarints. For deletions value is the previous value. ModRevision is not
// stored: it is the log key.
func encodeEvents(evs []store.Event) []byte {
	b := make([]byte, 0, 64)
	for _, ev := range evs {
		b = append(b, byte(ev.Type))
		b = binary.AppendUvarint(b, uint64(len(ev.KV.Key)))
		b = append(b, ev.KV.Key...)
		b = binary.AppendUvarint(b, uint64(ev.KV.CreateRevision))
		val := ev.KV.Value
		if ev.Type == store.EventDelete {
			val = ev.PrevValue
		}
		b = binary.AppendUvarint(b, uint64(len(val)))
		b = append(b, val...)
	}
	return b
}

// decodeEvents copies the log entry once and slices events out of the copy.
// Slices are capped (full slice expressions) so that a receiver appending to
// one value cannot overwrite its neighbour.
func decodeEvents(rev int64, raw []byte) ([]store.Event, error) {
	b := append([]byte{}, raw...)
	var evs []store.Event
	for len(b) > 0 {
		typ := store.EventType(b[0])
		b = b[1:]
		key, rest, ok := readBytes(b)
		if !ok {
			return nil, fmt.Errorf("log revision %d: %w", rev, errCorrupt)
		}
		createRev, n := binary.Uvarint(rest)
		if n <= 0 {
			return nil, fmt.Errorf("log revision %d: %w", rev, errCorrupt)
		}
		val, rest, ok := readBytes(rest[n:])
		if !ok {
			return nil, fmt.Errorf("log revision %d: %w", rev, errCorrupt)
		}
		b = rest
		ev := store.Event{Type: typ, KV: store.KV{Key: string(key), ModRevision: rev}}
		if typ == store.EventDelete {
			ev.PrevValue = val
		} else {
			ev.KV.Value, ev.KV.CreateRevision = val, int64(createRev)
		}
		evs = append(evs, ev)
	}
	return evs, nil
}

// readBytes reads one uvarint-length-prefixed byte string.
func readBytes(b []byte) (val, rest []byte, ok bool) {
	l, n := binary.Uvarint(b)
	if n <= 0 || uint64(len(b)-n) < l {
		return nil, nil, false
	}
	end := n + int(l)
	return b[n:end:end], b[end:], true
}
