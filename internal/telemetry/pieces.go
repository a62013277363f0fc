package telemetry

import (
	"google.golang.org/protobuf/encoding/protowire"
)

// A message larger than one HTTP/2 DATA frame reaches the codec as several
// buffers (gRPC's, 16 KiB each by default: four for a sidecar's flush).
// decodePieces decodes it where it lies: the top-level fields (metric
// families) inside one buffer in place, and only a field that straddles
// two buffers copied, alone, into scratch. Anything it does not expect (a
// top-level field that is not length-delimited, a header that does not
// parse, a length past the end) copies the rest of the message into
// scratch and decodes it as decodeFrame does, so the result and the
// errors are decodeFrame's on the whole message.

// pieces is a cursor over a message split into buffers.
type pieces struct {
	cur  []byte   // what is left of the current buffer
	next [][]byte // the buffers after it
	left int      // bytes left in all
}

// advance skips empty buffers; it reports whether any byte is left.
func (p *pieces) advance() bool {
	for len(p.cur) == 0 && len(p.next) > 0 {
		p.cur, p.next = p.next[0], p.next[1:]
	}
	return p.left > 0
}

// take appends the next n bytes (n <= p.left) to dst[:0] and moves past them.
func (p *pieces) take(n int, dst []byte) []byte {
	dst = dst[:0]
	p.left -= n
	for n > 0 {
		p.advance()
		k := min(n, len(p.cur))
		dst = append(dst, p.cur[:k]...)
		p.cur, n = p.cur[k:], n-k
	}
	return dst
}

// peek copies up to len(dst) next bytes into dst without moving.
func (p *pieces) peek(dst []byte) []byte {
	n := copy(dst, p.cur)
	for _, b := range p.next {
		if n == len(dst) {
			break
		}
		n += copy(dst[n:], b)
	}
	return dst[:n]
}

// fieldLen is the size of the length-delimited field at the cursor (its
// tag, length and value), or false when it is not one that ends within
// the message.
func (p *pieces) fieldLen() (int, bool) {
	var hdr [20]byte // a tag and a length: two varints of at most ten bytes
	h := p.peek(hdr[:])
	_, typ, n := protowire.ConsumeTag(h)
	if n < 0 || typ != protowire.BytesType {
		return 0, false
	}
	l, m := protowire.ConsumeVarint(h[n:])
	if m < 0 || l > uint64(p.left-n-m) {
		return 0, false
	}
	return n + m + int(l), true
}

// decodePieces decodes the message held by bufs (several buffers, in
// order; size bytes in all) into f, as decodeFrame decodes it whole.
// scratch backs the fields that straddle buffers; it is returned, grown.
func decodePieces(bufs [][]byte, size int, f *frame, scratch []byte) ([]byte, error) {
	f.size = size
	p := pieces{next: bufs, left: size}
	for p.advance() {
		// The whole fields at the start of the current buffer, in place.
		n, err := f.wholeFields(p.cur)
		if err != nil {
			return scratch, err
		}
		p.cur, p.left = p.cur[n:], p.left-n
		if len(p.cur) == 0 {
			continue
		}
		// The field at the cursor runs into the next buffer (or is not
		// one wholeFields decodes): copy it alone, or the rest.
		n, ok := p.fieldLen()
		if !ok {
			n = p.left
		}
		scratch = p.take(n, scratch)
		if err := f.fields(scratch); err != nil {
			return scratch, err
		}
	}
	return scratch, nil
}
