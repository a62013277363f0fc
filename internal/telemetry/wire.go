package telemetry

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	metricsv3 "github.com/envoyproxy/go-control-plane/envoy/service/metrics/v3"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// errBadWire is wrapped by every decodeFrame error.
var errBadWire = errors.New("malformed metrics message")

// frame is one StreamMetricsMessage as the receiver keeps it: the node id
// of the identifier (first message only) and the samples of the metric
// families Trellis reads. The codec decodes it straight from the wire;
// nothing else of the message is allocated.
type frame struct {
	nodeID  string
	samples []sample
	size    int // bytes on the wire
	// memo is the stream's layout of its previous message (nil for the
	// first): a wanted family whose name equals the memo's at the same
	// position takes the memo's name (no allocation) and is marked known,
	// so digest reuses what it derived from that name. Read only.
	memo *layout
	// pooled is where samples came from (codec.Unmarshal), nil otherwise.
	pooled *[]sample
}

// sampleKind is what a sample holds.
type sampleKind int

const (
	kindOther sampleKind = iota
	kindCounter
	kindGauge
	kindHistogram
)

// sample is the first metric of one family (Envoy sends one per family
// with emit_tags_as_labels off).
type sample struct {
	name  string
	known bool // name is the frame memo's at this position
	kind  sampleKind
	value float64 // counter or gauge
	// Histogram: upper bounds, and cumulative counts with the overflow
	// (sample_count) last, len(cum) == len(bounds)+1 (fuzz_test.go:
	// histogramOf).
	bounds, cum []float64
}

// Field numbers (envoy.service.metrics.v3 and io.prometheus.client).
const (
	fieldIdentifier   = 1 // StreamMetricsMessage.identifier
	fieldEnvoyMetrics = 2 // StreamMetricsMessage.envoy_metrics
	fieldFamilyName   = 1 // MetricFamily.name
	fieldFamilyType   = 3 // MetricFamily.type
	fieldFamilyMetric = 4 // MetricFamily.metric
	fieldGauge        = 2 // Metric.gauge
	fieldCounter      = 3 // Metric.counter
	fieldHistogram    = 7 // Metric.histogram
	fieldValue        = 1 // Gauge.value, Counter.value (double)
	fieldSampleCount  = 1 // Histogram.sample_count (uint64)
	fieldBucket       = 3 // Histogram.bucket
	fieldCumulative   = 1 // Bucket.cumulative_count (uint64)
	fieldUpperBound   = 2 // Bucket.upper_bound (double)
)

// field is one decoded field: bytes for length-delimited ones, the raw
// number for varint and fixed ones.
type field struct {
	num   protowire.Number
	typ   protowire.Type
	bytes []byte
	num64 uint64
}

// decodeFrame decodes a StreamMetricsMessage into f, keeping only the
// identifier's node id and the wanted families. Its loop runs for every
// family an Envoy sends, so it is plain code (no per-field closure).
func decodeFrame(b []byte, f *frame) error {
	f.size = len(b)
	return f.fields(b)
}

// fields decodes top-level fields, all of b, into f.
func (f *frame) fields(b []byte) error {
	for len(b) > 0 {
		// Most families are skipped on their name alone (skippable).
		if fam, rest, ok := lenField(b); ok && b[0] == fieldEnvoyMetrics<<3|byte(protowire.BytesType) && skippable(fam) {
			b = rest
			continue
		}
		fl, rest, err := nextField(b)
		if err != nil {
			return err
		}
		b = rest
		if fl.typ != protowire.BytesType {
			continue
		}
		if err := f.field(fl.num, fl.bytes); err != nil {
			return err
		}
	}
	return nil
}

// wholeFields decodes the fields at the start of b that are in the
// common encoding (a one-byte tag, a one- or two-byte length) and end
// inside b, as fields does, and returns the bytes they took: the rest of
// b starts with a field that is not, or runs past b (decodePieces).
func (f *frame) wholeFields(b []byte) (int, error) {
	n := 0
	for {
		v, rest, ok := lenField(b[n:])
		if !ok {
			return n, nil
		}
		if tag := b[n]; tag != fieldEnvoyMetrics<<3|byte(protowire.BytesType) || !skippable(v) {
			if err := f.field(protowire.Number(tag>>3), v); err != nil {
				return n, err
			}
		}
		n = len(b) - len(rest)
	}
}

// skippable reports whether a family is encoded exactly as Envoy does
// (name, type, one metric: so no later name overrides the first) with a
// name Trellis does not read. Anything else is decoded in full.
func skippable(b []byte) bool {
	if len(b) < 2 || b[0] != fieldFamilyName<<3|byte(protowire.BytesType) || b[1] >= 0x80 || 2+int(b[1])+4 > len(b) {
		return false
	}
	name, r := b[2:2+int(b[1])], b[2+int(b[1]):]
	if r[0] != fieldFamilyType<<3|byte(protowire.VarintType) || r[1] >= 0x80 || r[2] != fieldFamilyMetric<<3|byte(protowire.BytesType) {
		return false
	}
	n, h := int(r[3]), 4
	if n >= 0x80 {
		if len(r) < 5 || r[4] >= 0x80 {
			return false
		}
		n, h = n&0x7f|int(r[4])<<7, 5
	}
	return h+n == len(r) && !wanted(name)
}

// field decodes one length-delimited field of a StreamMetricsMessage.
func (f *frame) field(num protowire.Number, v []byte) error {
	switch num {
	case fieldIdentifier:
		id := &metricsv3.StreamMetricsMessage_Identifier{}
		if err := proto.Unmarshal(v, id); err != nil {
			return fmt.Errorf("%w: identifier: %w", errBadWire, err)
		}
		f.nodeID = id.GetNode().GetId()
	case fieldEnvoyMetrics:
		// Reuse the slot (and its histogram slices) of the frame's
		// previous use: Envoy sends the same families every flush.
		n := len(f.samples)
		if n < cap(f.samples) {
			f.samples = f.samples[:n+1]
		} else {
			f.samples = append(f.samples, sample{})
		}
		ok, err := decodeFamily(v, &f.samples[n], f.memoName(n))
		if !ok {
			f.samples = f.samples[:n]
		}
		return err
	}
	return nil
}

// memoName is the name at position n of the frame's memo, or "".
func (f *frame) memoName(n int) string {
	if f.memo == nil || n >= len(f.memo.slots) {
		return ""
	}
	return f.memo.slots[n].name
}

// decodeFamily decodes an encoded MetricFamily when its name is wanted.
// It runs for every family an Envoy sends, so its first pass is a plain
// loop (no closure) that only finds the name and the first metric. memo
// is the name the stream's previous message had at this position.
func decodeFamily(b []byte, s *sample, memo string) (bool, error) {
	name, metric, seenMetric, err := familyFields(b)
	if err != nil || !seenMetric || !wanted(name) {
		return false, err
	}
	s.known = memo != "" && memo == string(name)
	switch {
	case s.known:
		s.name = memo
	case s.name != string(name):
		s.name = string(name)
	}
	// A message field repeated in one Metric merges into the first, as
	// proto.Unmarshal merges it: a scalar keeps its last value, a
	// histogram's buckets add up. The kind is the last one seen.
	s.kind = kindOther
	var counterV, gaugeV float64
	seenHist := false
	for b := metric; len(b) > 0; {
		var fl field
		if fl, b, err = nextField(b); err != nil {
			return false, err
		}
		if fl.typ != protowire.BytesType {
			continue
		}
		switch fl.num {
		case fieldGauge:
			s.kind = kindGauge
			gaugeV, err = scalar(fl.bytes, gaugeV)
		case fieldCounter:
			s.kind = kindCounter
			counterV, err = scalar(fl.bytes, counterV)
		case fieldHistogram:
			s.kind = kindHistogram
			err = s.histogram(fl.bytes, seenHist)
			seenHist = true
		}
		if err != nil {
			return false, err
		}
	}
	s.value = 0
	switch s.kind {
	case kindGauge:
		s.value = gaugeV
	case kindCounter:
		s.value = counterV
	}
	return true, nil
}

// familyFields returns a MetricFamily's name (the last, as proto decoding
// keeps) and its first metric.
func familyFields(b []byte) (name, metric []byte, seenMetric bool, err error) {
	for len(b) > 0 {
		// Envoy's encoding: name, type (a one-byte enum), metric.
		if v, rest, ok := lenField(b); ok {
			switch b[0] {
			case fieldFamilyName<<3 | byte(protowire.BytesType):
				name = v
			case fieldFamilyMetric<<3 | byte(protowire.BytesType):
				if !seenMetric {
					metric, seenMetric = v, true
				}
			}
			b = rest
			continue
		}
		if len(b) >= 2 && b[0] == fieldFamilyType<<3|byte(protowire.VarintType) && b[1] < 0x80 {
			b = b[2:]
			continue
		}
		var fl field
		if fl, b, err = nextFieldSlow(b); err != nil {
			return nil, nil, false, err
		}
		switch {
		case fl.typ != protowire.BytesType:
		case fl.num == fieldFamilyName:
			name = fl.bytes
		case fl.num == fieldFamilyMetric && !seenMetric:
			metric, seenMetric = fl.bytes, true
		}
	}
	return name, metric, seenMetric, nil
}

// scalar reads Gauge.value or Counter.value; v is the value so far.
func scalar(b []byte, v float64) (float64, error) {
	for len(b) > 0 {
		fl, rest, err := nextField(b)
		if err != nil {
			return 0, err
		}
		b = rest
		if fl.num == fieldValue && fl.typ == protowire.Fixed64Type {
			v = math.Float64frombits(fl.num64)
		}
	}
	return v, nil
}

// histogram reads a Histogram's sample count and buckets (ascending finite
// upper bounds; a bucket out of order is ignored), after those read so far
// when merge is set. A bucket in Envoy's encoding is read in the loop
// itself (envoyBucket).
func (s *sample) histogram(b []byte, merge bool) error {
	var count float64
	if merge {
		count, s.cum = s.cum[len(s.cum)-1], s.cum[:len(s.cum)-1]
	} else {
		s.bounds, s.cum = s.bounds[:0], s.cum[:0]
	}
	for len(b) > 0 {
		ub, cum, rest, ok := envoyBucket(b)
		if !ok {
			fl, r, err := nextField(b)
			if err != nil {
				return err
			}
			rest = r
			switch {
			case fl.num == fieldSampleCount && fl.typ == protowire.VarintType:
				count = float64(fl.num64)
				b = rest
				continue
			case fl.num == fieldBucket && fl.typ == protowire.BytesType:
				if ub, cum, err = bucketOf(fl.bytes); err != nil {
					return err
				}
			default:
				b = rest
				continue
			}
		}
		b = rest
		if ub == ub && !math.IsInf(ub, 0) && (len(s.bounds) == 0 || ub > s.bounds[len(s.bounds)-1]) {
			s.bounds, s.cum = append(s.bounds, ub), append(s.cum, cum)
		}
	}
	s.cum = append(s.cum, count)
	return nil
}

// envoyBucket reads a Histogram.bucket field at the start of b when it is
// in Envoy's encoding exactly: a one-byte length, cumulative_count (a
// varint filling the bytes up to the upper bound, as protowire reads it),
// then upper_bound. ok is false for anything else (bucketOf reads it).
func envoyBucket(b []byte) (ub, cum float64, rest []byte, ok bool) {
	const tagBucket = fieldBucket<<3 | byte(protowire.BytesType)
	if len(b) < 13 || b[0] != tagBucket || b[1] < 11 || b[1] >= 0x80 || int(b[1])+2 > len(b) ||
		b[2] != fieldCumulative<<3|byte(protowire.VarintType) {
		return 0, 0, nil, false
	}
	end := 2 + int(b[1])
	if b[end-9] != fieldUpperBound<<3|byte(protowire.Fixed64Type) {
		return 0, 0, nil, false
	}
	var c uint64
	switch v := b[3 : end-9]; {
	case len(v) == 1 && v[0] < 0x80: // a count below 128
		c = uint64(v[0])
	case len(v) == 2 && v[0] >= 0x80 && v[1] < 0x80: // below 16,384
		c = uint64(v[0]&0x7f) | uint64(v[1])<<7
	default:
		if c, ok = exactVarint(v); !ok {
			return 0, 0, nil, false
		}
	}
	return math.Float64frombits(binary.LittleEndian.Uint64(b[end-8 : end])), float64(c), b[end:], true
}

// exactVarint decodes b when it is exactly one varint that protowire
// accepts (at most ten bytes, no overflow in the tenth).
func exactVarint(b []byte) (uint64, bool) {
	if len(b) == 1 && b[0] < 0x80 {
		return uint64(b[0]), true
	}
	var v uint64
	for i, c := range b {
		if i == 9 && c > 1 {
			return 0, false
		}
		v |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			return v, i == len(b)-1
		}
	}
	return 0, false
}

// bucketOf reads a Bucket's upper bound and cumulative count.
func bucketOf(b []byte) (ub, cum float64, err error) {
	// Envoy's encoding, exactly: cumulative_count, then upper_bound.
	if len(b) >= 11 && b[0] == fieldCumulative<<3|byte(protowire.VarintType) {
		c, n := protowire.ConsumeVarint(b[1:])
		if n > 0 && len(b) == 1+n+9 && b[1+n] == fieldUpperBound<<3|byte(protowire.Fixed64Type) {
			return math.Float64frombits(binary.LittleEndian.Uint64(b[2+n:])), float64(c), nil
		}
	}
	for len(b) > 0 {
		var fl field
		if fl, b, err = nextField(b); err != nil {
			return 0, 0, err
		}
		switch {
		case fl.num == fieldCumulative && fl.typ == protowire.VarintType:
			cum = float64(fl.num64)
		case fl.num == fieldUpperBound && fl.typ == protowire.Fixed64Type:
			ub = math.Float64frombits(fl.num64)
		}
	}
	return ub, cum, nil
}
