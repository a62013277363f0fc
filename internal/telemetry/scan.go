package telemetry

import (
	"encoding/binary"
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
)

// The scanner below walks every field of every metric family an Envoy
// sends (about 3,000 fields per flush of a sidecar with ten backends), so
// its common case is code the compiler inlines into the decoders' loops:
// a one-byte tag (field numbers 1 to 15, which is every field of these
// messages) followed by a one- or two-byte length, a varint or a fixed64. Anything else (longer varints, groups, malformed input) goes
// through protowire, which decides exactly as proto.Unmarshal does.

// nextField decodes the first field of the encoded message b and returns
// it and the rest of b. Decoders loop over it in plain code: they run for
// every stat an Envoy sends, where a closure per field costs.
func nextField(b []byte) (fl field, rest []byte, err error) {
	if v, rest, ok := lenField(b); ok {
		return field{num: protowire.Number(b[0] >> 3), typ: protowire.BytesType, bytes: v}, rest, nil
	}
	if len(b) >= 2 && b[0] >= 1<<3 && b[0] < 0x80 && protowire.Type(b[0]&7) == protowire.VarintType {
		if b[1] < 0x80 {
			return field{num: protowire.Number(b[0] >> 3), typ: protowire.VarintType, num64: uint64(b[1])}, b[2:], nil
		}
		// A longer varint (Envoy's timestamp_ms, growing counts).
		if v, n := protowire.ConsumeVarint(b[1:]); n > 0 {
			return field{num: protowire.Number(b[0] >> 3), typ: protowire.VarintType, num64: v}, b[1+n:], nil
		}
	}
	if len(b) >= 9 && b[0] >= 1<<3 && b[0] < 0x80 && protowire.Type(b[0]&7) == protowire.Fixed64Type {
		return field{num: protowire.Number(b[0] >> 3), typ: protowire.Fixed64Type, num64: binary.LittleEndian.Uint64(b[1:9])}, b[9:], nil
	}
	return nextFieldSlow(b)
}

// lenField is the common case of a length-delimited field: a one-byte
// tag and a length of one or two bytes, inside b. ok is false for
// anything else, which nextFieldSlow then decodes.
func lenField(b []byte) (v, rest []byte, ok bool) {
	if len(b) < 2 || b[0] < 1<<3 || b[0] >= 0x80 || b[0]&7 != byte(protowire.BytesType) {
		return nil, nil, false
	}
	n, h := int(b[1]), 2
	if n >= 0x80 {
		if len(b) < 3 || b[2] >= 0x80 {
			return nil, nil, false
		}
		n, h = n&0x7f|int(b[2])<<7, 3
	}
	if h+n > len(b) {
		return nil, nil, false
	}
	return b[h : h+n], b[h+n:], true
}

// nextFieldSlow is nextField for any encoding protowire accepts.
func nextFieldSlow(b []byte) (fl field, rest []byte, err error) {
	num, typ, n := protowire.ConsumeTag(b)
	if n < 0 {
		return fl, nil, fmt.Errorf("%w: %w", errBadWire, protowire.ParseError(n))
	}
	b = b[n:]
	fl = field{num: num, typ: typ}
	switch typ {
	case protowire.BytesType:
		fl.bytes, n = protowire.ConsumeBytes(b)
	case protowire.VarintType:
		fl.num64, n = protowire.ConsumeVarint(b)
	case protowire.Fixed64Type:
		fl.num64, n = protowire.ConsumeFixed64(b)
	default:
		n = protowire.ConsumeFieldValue(num, typ, b)
	}
	if n < 0 {
		return fl, nil, fmt.Errorf("%w: %w", errBadWire, protowire.ParseError(n))
	}
	return fl, b[n:], nil
}
