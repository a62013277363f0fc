package telemetry

import (
	"context"
	"errors"
	"io"
	"time"

	metricsv3 "github.com/envoyproxy/go-control-plane/envoy/service/metrics/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/trellis-mesh/trellis/internal/xdsserver"
)

// Errors a refused stream ends with (wrapped in gRPC statuses).
var (
	errNoIdentifier = errors.New("first metrics message carries no node identifier")
	errTooMany      = errors.New("too many metrics streams")
	errTooLarge     = errors.New("metrics message too large")
	errNoFirst      = errors.New("no metrics message in time")
)

// RegisterService registers the MetricsService on gs, whose server must
// have been created with ServerOption (the codec that decodes frames).
// Streams end when ctx ends (the xDS server's Serve context), since gRPC's
// graceful stop would otherwise wait for every Envoy's endless stream;
// Wait waits for their receive loops.
func (t *Telemetry) RegisterService(ctx context.Context, gs grpc.ServiceRegistrar) {
	desc := metricsv3.MetricsService_ServiceDesc
	desc.HandlerType = (*any)(nil)
	desc.Streams = []grpc.StreamDesc{{
		StreamName:    "StreamMetrics",
		ClientStreams: true,
		Handler: func(_ any, stream grpc.ServerStream) error {
			return t.streamMetrics(ctx, stream)
		},
	}}
	gs.RegisterService(&desc, nil)
}

// Wait blocks until every receive loop started by a stream has returned.
// Call it after the gRPC servers the service is registered on stopped.
func (t *Telemetry) Wait() { t.wg.Wait() }

// streamMetrics runs the receive loop in a goroutine the Telemetry waits
// for (Wait), so the handler can return when the server's context ends
// or the first message is late: returning ends the stream, which ends the
// loop's pending receive.
func (t *Telemetry) streamMetrics(ctx context.Context, stream grpc.ServerStream) error {
	done := make(chan error, 1)
	first := make(chan struct{})
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		done <- t.receive(stream, first)
	}()
	timer := time.NewTimer(t.opts.FirstMessageTimeout)
	defer timer.Stop()
	late := timer.C
	for {
		select {
		case err := <-done:
			return err
		case <-ctx.Done():
			return status.Error(codes.Unavailable, "server shutting down")
		case <-first:
			first, late = nil, nil
		case <-late:
			t.metrics.refused.WithLabelValues("no_first_message").Inc()
			// Debug, not Warn: a client opening silent streams in bulk must not
			// flood the log; the counter shows them.
			t.log.Debug("metrics stream refused", "err", errNoFirst, "timeout", t.opts.FirstMessageTimeout)
			return status.Errorf(codes.DeadlineExceeded, "%v (%s)", errNoFirst, t.opts.FirstMessageTimeout)
		}
	}
}

// receive identifies the stream by its first message, then digests every
// message until the stream ends. It closes first once the first receive
// returned.
func (t *Telemetry) receive(stream grpc.ServerStream, first chan<- struct{}) error {
	var f frame
	err := stream.RecvMsg(&f)
	close(first)
	if err != nil {
		return recvErr(err)
	}
	ps, err := t.open(stream.Context(), f.nodeID)
	if err != nil {
		t.metrics.refused.WithLabelValues(refusal(err)).Inc()
		t.log.Warn("metrics stream refused", "err", err)
		return err
	}
	defer t.close(ps)
	for {
		if f.size > t.opts.MaxMessageBytes {
			t.metrics.refused.WithLabelValues("too_large").Inc()
			return status.Errorf(codes.ResourceExhausted, "%v: %d bytes > %d", errTooLarge, f.size, t.opts.MaxMessageBytes)
		}
		t.metrics.messages.Inc()
		t.apply(ps, t.digest(ps, f.samples))
		t.release(&f)
		f = frame{memo: ps.expected()}
		if err := stream.RecvMsg(&f); err != nil {
			if errors.Is(err, io.EOF) {
				return stream.SendMsg(&metricsv3.StreamMetricsResponse{})
			}
			return recvErr(err)
		}
	}
}

// release puts the samples of f, digested, back into the pool.
func (t *Telemetry) release(f *frame) {
	if f.pooled != nil {
		*f.pooled = f.samples[:0]
		t.samples.Put(f.pooled)
	}
}

func recvErr(err error) error {
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

// open checks the identifier and admits the stream within MaxStreams.
func (t *Telemetry) open(ctx context.Context, id string) (*proxyStream, error) {
	if err := xdsserver.CheckProvenClaim(ctx, id); err != nil {
		return nil, err
	}
	if id == "" {
		return nil, status.Error(codes.InvalidArgument, errNoIdentifier.Error())
	}
	ref, err := xdsserver.ParseNodeID(id)
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "%v", err)
	}
	ps := newProxyStream(ref.Mesh, ref.Kind, ref.Name, id)
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.streams) >= t.opts.MaxStreams {
		return nil, status.Errorf(codes.ResourceExhausted, "%v (%d)", errTooMany, t.opts.MaxStreams)
	}
	t.streams[ps] = struct{}{}
	return ps, nil
}

func (t *Telemetry) close(ps *proxyStream) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.streams, ps)
	t.forget(ps)
}

// refusal labels a refused stream for trellis_telemetry_streams_refused_total.
func refusal(err error) string {
	switch status.Code(err) {
	case codes.ResourceExhausted:
		return "too_many_streams"
	case codes.InvalidArgument:
		return "bad_identifier"
	case codes.PermissionDenied:
		return "permission_denied"
	}
	return "other"
}
