package telemetry

import (
	"bytes"
	"encoding/binary"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
	grpcproto "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
)

// ServerOption returns the gRPC server option the MetricsService needs
// (RegisterService): a codec that decodes MetricsService messages straight
// from the wire into frames. An Envoy sends every stat it has (about a
// thousand families for a sidecar with ten backends) and Trellis reads a
// few per cluster: the others are skipped on the wire, never allocated.
// Every other message (ADS) goes through gRPC's proto codec unchanged.
// Pass it to every gRPC server the MetricsService is registered on.
func (t *Telemetry) ServerOption() grpc.ServerOption {
	return grpc.ForceServerCodecV2(&codec{base: encoding.GetCodecV2(grpcproto.Name), samples: &t.samples})
}

// codec is gRPC's proto codec plus frames. bufs holds the scratch buffers
// decodePieces copies a field that straddles two of gRPC's buffers into
// (or the rest of a message in an unexpected encoding); it is owned by
// the codec, bounded by the number of messages being decoded at once
// (each buffer by the message size), and each buffer is overwritten by
// the next use (never read past the copied length).
// samples is the Telemetry's pool of frame samples (Telemetry.samples).
type codec struct {
	base    encoding.CodecV2
	bufs    sync.Pool
	samples *sync.Pool
}

func (c *codec) Name() string                           { return c.base.Name() }
func (c *codec) Marshal(v any) (mem.BufferSlice, error) { return c.base.Marshal(v) }

func (c *codec) Unmarshal(data mem.BufferSlice, v any) error {
	f, ok := v.(*frame)
	if !ok {
		return c.base.Unmarshal(data, v)
	}
	if f.pooled == nil && c.samples != nil {
		if f.pooled, _ = c.samples.Get().(*[]sample); f.pooled == nil {
			f.pooled = new([]sample)
		}
		f.samples = (*f.pooled)[:0]
	}
	if len(data) == 1 {
		return decodeFrame(data[0].ReadOnlyData(), f)
	}
	var arr [8][]byte // a sidecar's flush is four or five buffers
	bufs := arr[:0]
	for _, d := range data {
		bufs = append(bufs, d.ReadOnlyData())
	}
	bp, _ := c.bufs.Get().(*[]byte)
	if bp == nil {
		bp = new([]byte)
	}
	var err error
	*bp, err = decodePieces(bufs, data.Len(), f, *bp)
	c.bufs.Put(bp)
	return err
}

// wanted is a mesh-independent superset of what classify accepts, plus
// Envoy's uptime: the families worth decoding. It runs for every family
// an Envoy sends (about a thousand per flush), so it switches on the last
// four bytes of the name (most names end otherwise), then compares the
// stat (the last name element: the name ends in "."+stat, stats having no
// dot) and a prefix only for the few names that end right.
func wanted(name []byte) bool {
	n := len(name)
	if n < 4 {
		return false
	}
	switch binary.LittleEndian.Uint32(name[n-4:]) {
	case endEted:
		return inbound(name, "downstream_rq_completed") || egress(name, "upstream_rq_completed")
	case end5xx:
		return inbound(name, "downstream_rq_5xx") || egress(name, "upstream_rq_5xx")
	case endTime:
		return inbound(name, "downstream_rq_time") || egress(name, "upstream_rq_time") || string(name) == uptimeStat
	case endTive:
		return inbound(name, "downstream_cx_active") || (isStat(name, "upstream_cx_active") && bytes.HasPrefix(name, []byte(clusterPrefix)))
	}
	return false
}

// The last four bytes of the wanted names, as wanted reads them.
const (
	endEted = 'e' | 't'<<8 | 'e'<<16 | 'd'<<24 // completed
	end5xx  = '_' | '5'<<8 | 'x'<<16 | 'x'<<24 // 5xx
	endTime = 't' | 'i'<<8 | 'm'<<16 | 'e'<<24 // time, uptime
	endTive = 't' | 'i'<<8 | 'v'<<16 | 'e'<<24 // active
)

// isStat reports whether stat is the last element of name.
func isStat(name []byte, stat string) bool {
	n := len(name) - len(stat)
	return n > 0 && name[n-1] == '.' && string(name[n:]) == stat
}

// inbound reports whether name is stat of an ingress HTTP manager.
func inbound(name []byte, stat string) bool {
	return isStat(name, stat) && bytes.HasPrefix(name, []byte(inboundPrefix))
}

// egress reports whether name is stat of an egress cluster or a virtual
// service's catch-all virtual cluster.
func egress(name []byte, stat string) bool {
	return isStat(name, stat) && (bytes.HasPrefix(name, []byte(clusterPrefix)) || bytes.HasPrefix(name, []byte(vhostPrefix)))
}
