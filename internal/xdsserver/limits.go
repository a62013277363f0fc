package xdsserver

import (
	"context"
	"errors"
	"io"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// Defaults of the zero Limits fields, sized for a fleet of 10,000 proxies
// (docs/fleet.md): each Envoy holds one ADS stream (SDS rides on it) and
// one metrics stream on one connection, 20,000 streams in all, so the
// server-wide cap leaves 2.5x headroom for reconnect overlap. Every
// useful connection carries at least one stream, so connections are
// capped at the same figure.
const (
	DefaultMaxConns            = 50000
	DefaultMaxStreams          = 50000
	DefaultMaxStreamsPerConn   = 100
	DefaultFirstRequestTimeout = 30 * time.Second
	DefaultIdleConnTimeout     = 5 * time.Minute
)

// Limits bound the streams clients can make the Server hold, so that a
// reconnect storm or a hostile client exhausts neither memory nor file
// descriptors. Zero fields take the defaults above.
type Limits struct {
	// MaxConns caps the connections open at once over every listener the
	// Server serves (TCP, TLS, mTLS and the Unix socket). A connection
	// past it is closed at accept, before any handshake, and counted in
	// trellis_xds_connections_rejected_total; Envoy reconnects with its
	// backoff. The open ones are trellis_xds_listener_connections.
	MaxConns int
	// MaxStreams caps the concurrent gRPC streams over every listener
	// the Server serves: ADS state-of-the-world and delta (which also
	// carry SDS) and the services Options.Services adds (the telemetry
	// MetricsService). A stream past it ends at once with
	// RESOURCE_EXHAUSTED, which Envoy retries with backoff, and is counted
	// in trellis_xds_streams_refused_total{reason="limit"}.
	MaxStreams int
	// MaxStreamsPerConn is each connection's HTTP/2
	// SETTINGS_MAX_CONCURRENT_STREAMS (grpc.MaxConcurrentStreams): a client
	// that honours it (Envoy, grpc-go) waits for a free slot or opens
	// another connection; the HTTP/2 layer resets a stream beyond it with
	// REFUSED_STREAM. Envoy multiplexes ADS, metrics and SDS on one
	// connection, so a handful is normal. Connections that reach it are
	// counted in trellis_xds_connection_stream_limit_reached_total.
	MaxStreamsPerConn int
	// FirstRequestTimeout bounds how long an ADS stream may stay open
	// before its first request; past it the stream ends with
	// DEADLINE_EXCEEDED, counted in
	// trellis_xds_streams_refused_total{reason="no_request"}.
	FirstRequestTimeout time.Duration
	// IdleConnTimeout closes (GOAWAY) a connection that has had no open
	// stream for that long, so a client cannot hold file descriptors with
	// connections it does not use. Envoy keeps its ADS stream open on its
	// xDS connection, so only idle clients see it; gRPC clients reconnect
	// when they next need to.
	IdleConnTimeout time.Duration
}

func (l *Limits) defaults() {
	if l.MaxConns <= 0 {
		l.MaxConns = DefaultMaxConns
	}
	if l.MaxStreams <= 0 {
		l.MaxStreams = DefaultMaxStreams
	}
	if l.MaxStreamsPerConn <= 0 {
		l.MaxStreamsPerConn = DefaultMaxStreamsPerConn
	}
	// HTTP/2 carries the per-connection cap in 32 bits.
	l.MaxStreamsPerConn = int(min(uint64(l.MaxStreamsPerConn), math.MaxUint32))
	if l.FirstRequestTimeout <= 0 {
		l.FirstRequestTimeout = DefaultFirstRequestTimeout
	}
	if l.IdleConnTimeout <= 0 {
		l.IdleConnTimeout = DefaultIdleConnTimeout
	}
}

// Reasons of trellis_xds_streams_refused_total.
const (
	reasonInvalidNodeID = "invalid_node_id"
	reasonLimit         = "limit"
	reasonNoRequest     = "no_request"
)

// limitOptions are the gRPC server options every Serve adds for the limits.
func (s *Server) limitOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.MaxConcurrentStreams(uint32(s.limits.MaxStreamsPerConn)),
		grpc.StatsHandler(&connStats{m: s.metrics, perConn: int64(s.limits.MaxStreamsPerConn)}),
	}
}

// limitStreams returns the first stream interceptor of a Serve call: it
// admits a stream within MaxStreams (counted over all the Server's
// listeners) and, for ADS, reads the first request within firstTimeout,
// handing it on as if unread (replayStream). reads counts the goroutines
// reading first requests; the Serve call waits for them. When ctx (the
// Serve call's) ends, a stream still waiting ends with status OK, as
// go-control-plane ends identified ones, so a graceful stop need not wait.
func (s *Server) limitStreams(ctx context.Context, firstTimeout time.Duration, reads *sync.WaitGroup) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		release, err := s.admit(ss.Context())
		if err != nil {
			return err
		}
		defer release()
		if !isADS(info.FullMethod) {
			return handler(srv, ss) // the MetricsService keeps its own deadline
		}
		first, err := readFirst(ctx, ss, info.FullMethod, firstTimeout, reads)
		switch {
		case errors.Is(err, errServeEnded), errors.Is(err, io.EOF):
			// Serve is stopping, or the client closed its side first.
			return nil
		case errors.Is(err, errNoFirstRequest):
			err := status.Errorf(codes.DeadlineExceeded, "xds: no request within %s of opening the stream", firstTimeout)
			s.refused(peerAddr(ss.Context()), reasonNoRequest, err)
			return err
		case err != nil:
			return err
		}
		return handler(srv, &replayStream{ServerStream: ss, first: first})
	}
}

// admit counts a stream against MaxStreams and its connection's streams;
// release uncounts it. Past MaxStreams it refuses the stream.
func (s *Server) admit(ctx context.Context) (release func(), err error) {
	if n := s.openStreams.Add(1); n > int64(s.limits.MaxStreams) {
		s.openStreams.Add(-1)
		err := status.Errorf(codes.ResourceExhausted, "xds: the server holds its limit of %d streams; retry later", s.limits.MaxStreams)
		s.refused(peerAddr(ctx), reasonLimit, err)
		return nil, err
	}
	s.metrics.streams.Inc()
	c, _ := ctx.Value(connKey{}).(*connState)
	if c != nil {
		c.opened(s.metrics)
	}
	return func() {
		if c != nil {
			c.streams.Add(-1)
		}
		s.openStreams.Add(-1)
		s.metrics.streams.Dec()
	}, nil
}

var (
	errNoFirstRequest = errors.New("no request naming a node in time")
	errServeEnded     = errors.New("serve ended")
)

// readFirst receives an ADS stream's first request within timeout. On a
// timeout the receiving goroutine stays blocked until the caller returns
// and gRPC ends the stream, which unblocks it at once; it touches nothing
// but its own buffered channel, and reads counts it. It gives up with
// errServeEnded when ctx ends.
func readFirst(ctx context.Context, ss grpc.ServerStream, method string, timeout time.Duration, reads *sync.WaitGroup) (proto.Message, error) {
	var m proto.Message = &discoveryv3.DiscoveryRequest{}
	if strings.HasSuffix(method, "/DeltaAggregatedResources") {
		m = &discoveryv3.DeltaDiscoveryRequest{}
	}
	got := make(chan error, 1)
	reads.Add(1)
	go func() {
		defer reads.Done()
		got <- ss.RecvMsg(m)
	}()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case err := <-got:
		return m, err
	case <-t.C:
		return nil, errNoFirstRequest
	case <-ctx.Done():
		return nil, errServeEnded
	}
}

// replayStream hands the handler a first request that was already read
// (the authentication interceptor takes it with takeFirst). RecvMsg is
// called from one goroutine at a time, as gRPC requires.
type replayStream struct {
	grpc.ServerStream
	first proto.Message
}

// takeFirst returns the first request limitStreams read for ss and no
// longer replays it.
func takeFirst(ss grpc.ServerStream) (proto.Message, error) {
	r, ok := ss.(*replayStream)
	if !ok || r.first == nil {
		return nil, status.Error(codes.Internal, "xds: the first request was not read")
	}
	first := r.first
	r.first = nil
	return first, nil
}

func (r *replayStream) RecvMsg(m any) error {
	if r.first != nil {
		proto.Merge(m.(proto.Message), r.first)
		r.first = nil
		return nil
	}
	return r.ServerStream.RecvMsg(m)
}

func peerAddr(ctx context.Context) string {
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		return p.Addr.String()
	}
	return ""
}

// connKey carries a connection's *connState in its streams' contexts.
type connKey struct{}

// connState counts one connection's open streams (as limitStreams sees
// them: at most what the HTTP/2 layer admits).
type connState struct {
	streams atomic.Int64
	max     int64
}

// opened counts a stream and notes a connection reaching its cap.
func (c *connState) opened(m *metrics) {
	if c.streams.Add(1) == c.max {
		m.connsAtLimit.Inc()
	}
}

// connStats is the gRPC stats handler that tags each connection with its
// connState and counts open connections.
type connStats struct {
	m       *metrics
	perConn int64
}

func (h *connStats) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context {
	return context.WithValue(ctx, connKey{}, &connState{max: h.perConn})
}

func (h *connStats) HandleConn(_ context.Context, st stats.ConnStats) {
	switch st.(type) {
	case *stats.ConnBegin:
		h.m.grpcConns.Inc()
	case *stats.ConnEnd:
		h.m.grpcConns.Dec()
	}
}

func (h *connStats) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context { return ctx }

func (h *connStats) HandleRPC(context.Context, stats.RPCStats) {}
