package telemetry

import (
	"bytes"
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
// an Envoy sends (about a thousand per flush), so it looks at the last
// byte, then the last name element (a switch on string(b) does not
// allocate), and compares prefixes only for the few names that end right.
func wanted(name []byte) bool {
	// Every wanted name ends in "d" (completed), "x" (5xx) or "e" (time,
	// active, uptime): most names are rejected by their last byte.
	if len(name) == 0 {
		return false
	}
	if c := name[len(name)-1]; c != 'd' && c != 'x' && c != 'e' {
		return false
	}
	dot := bytes.LastIndexByte(name, '.')
	if dot < 0 {
		return false
	}
	switch string(name[dot+1:]) {
	case "downstream_rq_completed", "downstream_rq_5xx", "downstream_rq_time", "downstream_cx_active":
		return bytes.HasPrefix(name, []byte(inboundPrefix))
	case "upstream_rq_completed", "upstream_rq_5xx", "upstream_rq_time":
		return bytes.HasPrefix(name, []byte(clusterPrefix)) || bytes.HasPrefix(name, []byte(vhostPrefix))
	case "upstream_cx_active":
		return bytes.HasPrefix(name, []byte(clusterPrefix))
	case "uptime":
		return string(name) == uptimeStat
	}
	return false
}
