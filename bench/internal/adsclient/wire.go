package adsclient

import (
	"fmt"

	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/anypb"
)

// The simulated proxies share the machine's cores with the control plane
// they measure, so they decode responses only as far as a proxy must to
// ACK (type, version, nonce) and hand on the encoded resource bodies:
// their gRPC streams use rawCodec, which keeps a response's bytes in a
// buffer the proxy reuses. Requests are ordinary protos.

// rawCodec marshals requests as protos and keeps responses as bytes.
type rawCodec struct{}

// Name is "proto": the server sees an ordinary application/grpc+proto
// stream.
func (rawCodec) Name() string { return "proto" }

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	m, ok := v.(proto.Message)
	if !ok {
		return nil, fmt.Errorf("raw codec: cannot marshal %T", v)
	}
	b, err := proto.Marshal(m)
	if err != nil {
		return nil, err
	}
	return mem.BufferSlice{mem.SliceBuffer(b)}, nil
}

func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	r, ok := v.(*rawMessage)
	if !ok {
		return fmt.Errorf("raw codec: cannot unmarshal into %T", v)
	}
	r.b = r.b[:0]
	for _, buf := range data {
		r.b = append(r.b, buf.ReadOnlyData()...)
	}
	return nil
}

// rawMessage is an encoded message, its buffer reused from one to the
// next.
type rawMessage struct{ b []byte }

// Field numbers of what a proxy reads, from the generated descriptors.
var (
	fSotwVersion   = FieldNum(&discoveryv3.DiscoveryResponse{}, "version_info")
	fSotwResources = FieldNum(&discoveryv3.DiscoveryResponse{}, "resources")
	fSotwType      = FieldNum(&discoveryv3.DiscoveryResponse{}, "type_url")
	fSotwNonce     = FieldNum(&discoveryv3.DiscoveryResponse{}, "nonce")
	fDeltaVersion  = FieldNum(&discoveryv3.DeltaDiscoveryResponse{}, "system_version_info")
	fDeltaRes      = FieldNum(&discoveryv3.DeltaDiscoveryResponse{}, "resources")
	fDeltaType     = FieldNum(&discoveryv3.DeltaDiscoveryResponse{}, "type_url")
	fDeltaNonce    = FieldNum(&discoveryv3.DeltaDiscoveryResponse{}, "nonce")
	fResourceBody  = FieldNum(&discoveryv3.Resource{}, "resource")
	fAnyValue      = FieldNum(&anypb.Any{}, "value")
)

// FieldNum is the number of a message's field, by name; it panics on a
// name the message does not have.
func FieldNum(m proto.Message, name string) protowire.Number {
	fd := m.ProtoReflect().Descriptor().Fields().ByName(protoreflect.Name(name))
	if fd == nil {
		panic(fmt.Sprintf("%T has no field %s", m, name))
	}
	return fd.Number()
}

// decode fills r from an encoded DiscoveryResponse (delta false) or
// DeltaDiscoveryResponse; r.Resources alias b.
func (r *Response) decode(b []byte, delta bool) {
	r.Size, r.Resources = len(b), r.Resources[:0]
	if !delta {
		r.TypeURL, r.Version, r.Nonce = lastString(b, fSotwType), lastString(b, fSotwVersion), lastString(b, fSotwNonce)
		for _, a := range Fields(b, fSotwResources) {
			r.Resources = append(r.Resources, last(Fields(a, fAnyValue)))
		}
		return
	}
	r.TypeURL, r.Version, r.Nonce = lastString(b, fDeltaType), lastString(b, fDeltaVersion), lastString(b, fDeltaNonce)
	for _, res := range Fields(b, fDeltaRes) {
		for _, a := range Fields(res, fResourceBody) {
			r.Resources = append(r.Resources, last(Fields(a, fAnyValue)))
		}
	}
}

func last(vs [][]byte) []byte {
	if len(vs) == 0 {
		return nil
	}
	return vs[len(vs)-1]
}

func lastString(b []byte, num protowire.Number) string { return string(last(Fields(b, num))) }

// Fields returns the bodies of the length-delimited fields numbered num
// (aliasing b), in order; it stops at the first malformed field.
func Fields(b []byte, num protowire.Number) [][]byte {
	var out [][]byte
	walk(b, num, protowire.BytesType, func(body []byte, _ uint64) { out = append(out, body) })
	return out
}

// Varints returns the values of the varint fields numbered num, in order.
func Varints(b []byte, num protowire.Number) []uint64 {
	var out []uint64
	walk(b, num, protowire.VarintType, func(_ []byte, v uint64) { out = append(out, v) })
	return out
}

// walk calls f for each field of b numbered num and of wire type typ,
// with its body (length-delimited) or value (varint); it stops at the
// first malformed field.
func walk(b []byte, num protowire.Number, typ protowire.Type, f func(body []byte, v uint64)) {
	for len(b) > 0 {
		n, t, l := protowire.ConsumeTag(b)
		if l < 0 {
			return
		}
		b = b[l:]
		vl := protowire.ConsumeFieldValue(n, t, b)
		if vl < 0 {
			return
		}
		if n == num && t == typ {
			switch t {
			case protowire.BytesType:
				body, _ := protowire.ConsumeBytes(b)
				f(body, 0)
			case protowire.VarintType:
				v, _ := protowire.ConsumeVarint(b)
				f(nil, v)
			}
		}
		b = b[vl:]
	}
}
