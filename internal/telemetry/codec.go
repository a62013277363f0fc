package telemetry

import (
	"bytes"
	"errors"
	"fmt"

	metricsv3 "github.com/envoyproxy/go-control-plane/envoy/service/metrics/v3"
	promv1 "github.com/prometheus/client_model/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
	grpcproto "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// errBadWire is wrapped by decodeSelected errors.
var errBadWire = errors.New("malformed metrics message")

// ServerOption returns the gRPC server option that makes MetricsService
// messages cheap: an Envoy sends every stat it has (about a thousand
// families for a sidecar with ten backends) and Trellis reads a few per
// cluster. The codec skips, on the wire, every metric family whose name
// Trellis does not read, so they are never allocated. Every other message
// (ADS) goes through gRPC's proto codec unchanged. Pass it to every gRPC
// server the MetricsService is registered on.
func (t *Telemetry) ServerOption() grpc.ServerOption {
	return grpc.ForceServerCodecV2(codec{base: encoding.GetCodecV2(grpcproto.Name)})
}

type codec struct{ base encoding.CodecV2 }

func (c codec) Name() string                           { return c.base.Name() }
func (c codec) Marshal(v any) (mem.BufferSlice, error) { return c.base.Marshal(v) }

func (c codec) Unmarshal(data mem.BufferSlice, v any) error {
	m, ok := v.(*metricsv3.StreamMetricsMessage)
	if !ok {
		return c.base.Unmarshal(data, v)
	}
	buf := data.MaterializeToBuffer(mem.DefaultBufferPool())
	defer buf.Free()
	return decodeSelected(buf.ReadOnlyData(), m)
}

// Field numbers of StreamMetricsMessage and MetricFamily.
const (
	fieldIdentifier   = 1
	fieldEnvoyMetrics = 2
	fieldFamilyName   = 1
)

// decodeSelected decodes the identifier and the metric families Trellis
// reads (wanted) into m, skipping the others without allocating them.
func decodeSelected(b []byte, m *metricsv3.StreamMetricsMessage) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("%w: %w", errBadWire, protowire.ParseError(n))
		}
		b = b[n:]
		if typ != protowire.BytesType || num != fieldIdentifier && num != fieldEnvoyMetrics {
			if n = protowire.ConsumeFieldValue(num, typ, b); n < 0 {
				return fmt.Errorf("%w: %w", errBadWire, protowire.ParseError(n))
			}
			b = b[n:]
			continue
		}
		v, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return fmt.Errorf("%w: %w", errBadWire, protowire.ParseError(n))
		}
		b = b[n:]
		if num == fieldIdentifier {
			id := &metricsv3.StreamMetricsMessage_Identifier{}
			if err := proto.Unmarshal(v, id); err != nil {
				return fmt.Errorf("%w: identifier: %w", errBadWire, err)
			}
			m.Identifier = id
			continue
		}
		if !wanted(familyName(v)) {
			continue
		}
		f := &promv1.MetricFamily{}
		if err := proto.Unmarshal(v, f); err != nil {
			return fmt.Errorf("%w: metric family: %w", errBadWire, err)
		}
		m.EnvoyMetrics = append(m.EnvoyMetrics, f)
	}
	return nil
}

// familyName returns the name field of an encoded MetricFamily (the last
// one, as proto decoding would keep), or nil.
func familyName(b []byte) []byte {
	var name []byte
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil
		}
		b = b[n:]
		if num == fieldFamilyName && typ == protowire.BytesType {
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return nil
			}
			name, b = v, b[n:]
			continue
		}
		if n = protowire.ConsumeFieldValue(num, typ, b); n < 0 {
			return nil
		}
		b = b[n:]
	}
	return name
}

// wanted is a mesh-independent superset of what classify accepts, plus
// Envoy's uptime: the families worth decoding.
func wanted(name []byte) bool {
	if string(name) == uptimeStat {
		return true
	}
	dot := bytes.LastIndexByte(name, '.')
	if dot < 0 {
		return false
	}
	stat := string(name[dot+1:])
	switch {
	case bytes.HasPrefix(name, []byte(inboundPrefix)):
		return inboundMetric(stat) != mNone
	case bytes.HasPrefix(name, []byte(clusterPrefix)):
		return edgeMetric(stat) != mNone
	}
	return false
}
