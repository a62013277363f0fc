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
	kind  sampleKind
	value float64 // counter or gauge
	// Histogram: upper bounds, and cumulative counts with the overflow
	// (sample_count) last, len(cum) == len(bounds)+1 (histogramOf).
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
		ok, err := decodeFamily(v, &f.samples[n])
		if !ok {
			f.samples = f.samples[:n]
		}
		return err
	}
	return nil
}

// decodeFamily decodes an encoded MetricFamily when its name is wanted.
// It runs for every family an Envoy sends, so its first pass is a plain
// loop (no closure) that only finds the name and the first metric.
func decodeFamily(b []byte, s *sample) (bool, error) {
	name, metric, seenMetric, err := familyFields(b)
	if err != nil || !seenMetric || !wanted(name) {
		return false, err
	}
	if s.name != string(name) {
		s.name = string(name)
	}
	s.kind, s.value = kindOther, 0
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
			s.kind, s.value = kindGauge, 0
			err = s.scalar(fl.bytes)
		case fieldCounter:
			s.kind, s.value = kindCounter, 0
			err = s.scalar(fl.bytes)
		case fieldHistogram:
			s.kind = kindHistogram
			err = s.histogram(fl.bytes)
		}
		if err != nil {
			return false, err
		}
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

// scalar reads Gauge.value or Counter.value.
func (s *sample) scalar(b []byte) error {
	for len(b) > 0 {
		fl, rest, err := nextField(b)
		if err != nil {
			return err
		}
		b = rest
		if fl.num == fieldValue && fl.typ == protowire.Fixed64Type {
			s.value = math.Float64frombits(fl.num64)
		}
	}
	return nil
}

// histogram reads a Histogram's sample count and buckets (ascending upper
// bounds; a bucket out of order is ignored, as histogramOf does).
func (s *sample) histogram(b []byte) error {
	s.bounds, s.cum = s.bounds[:0], s.cum[:0]
	var count float64
	for len(b) > 0 {
		fl, rest, err := nextField(b)
		if err != nil {
			return err
		}
		b = rest
		switch {
		case fl.num == fieldSampleCount && fl.typ == protowire.VarintType:
			count = float64(fl.num64)
		case fl.num == fieldBucket && fl.typ == protowire.BytesType:
			ub, cum, err := bucketOf(fl.bytes)
			if err != nil {
				return err
			}
			finite := !math.IsNaN(ub) && !math.IsInf(ub, 0)
			if finite && (len(s.bounds) == 0 || ub > s.bounds[len(s.bounds)-1]) {
				s.bounds, s.cum = append(s.bounds, ub), append(s.cum, cum)
			}
		}
	}
	s.cum = append(s.cum, count)
	return nil
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
