package xdsserver

import (
	"context"
	"errors"
	"io"
	"math"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// adsStream is either ADS flavour, reduced to what the limit tests need.
type adsStream struct {
	send   func(node string) error // sends a first request naming node
	recv   func() error            // receives once; the stream's end status
	cancel context.CancelFunc
}

// openADS opens one stream of the flavour on cc; ctx bounds its opening.
type openADS func(ctx context.Context, cc *grpc.ClientConn) (adsStream, error)

func openSotw(ctx context.Context, cc *grpc.ClientConn) (adsStream, error) {
	ctx, cancel := context.WithCancel(ctx)
	st, err := discoveryv3.NewAggregatedDiscoveryServiceClient(cc).StreamAggregatedResources(ctx)
	if err != nil {
		cancel()
		return adsStream{}, err
	}
	return adsStream{
		send: func(node string) error {
			return st.Send(&discoveryv3.DiscoveryRequest{TypeUrl: resourcev3.ClusterType, Node: &corev3.Node{Id: node}})
		},
		recv:   func() error { _, err := st.Recv(); return err },
		cancel: cancel,
	}, nil
}

func openDelta(ctx context.Context, cc *grpc.ClientConn) (adsStream, error) {
	ctx, cancel := context.WithCancel(ctx)
	st, err := discoveryv3.NewAggregatedDiscoveryServiceClient(cc).DeltaAggregatedResources(ctx)
	if err != nil {
		cancel()
		return adsStream{}, err
	}
	return adsStream{
		send: func(node string) error {
			return st.Send(&discoveryv3.DeltaDiscoveryRequest{TypeUrl: resourcev3.ClusterType, Node: &corev3.Node{Id: node}})
		},
		recv:   func() error { _, err := st.Recv(); return err },
		cancel: cancel,
	}, nil
}

var flavours = []struct {
	name string
	open openADS
}{{"sotw", openSotw}, {"delta", openDelta}}

// conn opens a client connection that closes with the test.
func (h *harness) conn(t testing.TB) *grpc.ClientConn {
	t.Helper()
	cc, err := grpc.NewClient(h.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return cc
}

// mustOpen opens a stream that names node and waits until it is identified.
func (h *harness) mustOpen(t testing.TB, open openADS, cc *grpc.ClientConn, node string) adsStream {
	t.Helper()
	st, err := open(t.Context(), cc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.cancel)
	if err := st.send(node); err != nil {
		t.Fatal(err)
	}
	eventually(t, node+" connected", func() bool { return h.srv.Node(node).Connected })
	return st
}

func (h *harness) openStreams() float64 { return testutil.ToFloat64(h.srv.metrics.streams) }

func (h *harness) refusedBy(reason string) float64 {
	return testutil.ToFloat64(h.srv.metrics.refused.WithLabelValues(reason))
}

// TestStreamLimit: with MaxStreams=2 over two listeners, exactly two
// streams are served; the third and fourth end with ResourceExhausted,
// are counted and logged once; a freed slot takes a new stream.
func TestStreamLimit(t *testing.T) {
	for _, f := range flavours {
		t.Run(f.name, func(t *testing.T) {
			h := startWith(t, Options{Limits: Limits{MaxStreams: 2}})
			other := h.serveAnother(t)
			a := h.mustOpen(t, f.open, h.conn(t), "mesh/m/virtualNode/a")
			h.mustOpen(t, f.open, other.conn(t), "mesh/m/virtualNode/b")
			for _, srv := range []*harness{h, other} {
				st, err := f.open(t.Context(), srv.conn(t))
				if err != nil {
					t.Fatal(err)
				}
				_ = st.send("mesh/m/virtualNode/c") // may see EOF: recv has the status
				if err := st.recv(); status.Code(err) != codes.ResourceExhausted {
					t.Fatalf("stream over the limit: %v, want ResourceExhausted", err)
				}
				st.cancel()
			}
			if got := h.refusedBy(reasonLimit); got != 2 {
				t.Errorf("refused{limit} = %v, want 2", got)
			}
			if n := strings.Count(h.logs.String(), "reason=limit"); n != 1 {
				t.Errorf("%d refusal log lines for a burst of 2, want 1", n)
			}
			if h.openStreams() != 2 {
				t.Errorf("streams open = %v, want 2", h.openStreams())
			}
			a.cancel()
			eventually(t, "a's slot freed", func() bool { return h.openStreams() == 1 })
			h.mustOpen(t, f.open, h.conn(t), "mesh/m/virtualNode/d")
			if got := h.refusedBy(reasonLimit); got != 2 {
				t.Errorf("refused{limit} after a slot freed = %v, want 2", got)
			}
		})
	}
}

// serveAnother serves h's Server on a second loopback listener until the
// test ends; the returned harness shares h's server and metrics.
func (h *harness) serveAnother(t *testing.T) *harness {
	t.Helper()
	other := *h
	other.addr = serveLoopback(t, h.srv)
	return &other
}

// TestStreamsPerConnection: with MaxStreamsPerConn=2 a connection carries
// two streams; a third waits (the client honours the HTTP/2 setting) until
// its context ends, the connection reaching its cap is counted, and a
// freed slot takes a new stream.
func TestStreamsPerConnection(t *testing.T) {
	for _, f := range flavours {
		t.Run(f.name, func(t *testing.T) {
			h := startWith(t, Options{Limits: Limits{MaxStreamsPerConn: 2}})
			cc := h.conn(t)
			a := h.mustOpen(t, f.open, cc, "mesh/m/virtualNode/a")
			h.mustOpen(t, f.open, cc, "mesh/m/virtualNode/b")
			if got := testutil.ToFloat64(h.srv.metrics.connsAtLimit); got != 1 {
				t.Errorf("connection stream limit reached = %v, want 1", got)
			}
			ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
			defer cancel()
			if st, err := f.open(ctx, cc); err == nil {
				st.cancel()
				t.Fatal("a third stream opened on a connection capped at 2")
			} else if status.Code(err) != codes.DeadlineExceeded {
				t.Fatalf("third stream: %v, want the client's DeadlineExceeded", err)
			}
			if h.openStreams() != 2 {
				t.Errorf("streams open = %v, want 2", h.openStreams())
			}
			a.cancel()
			h.mustOpen(t, f.open, cc, "mesh/m/virtualNode/c")
			if got := testutil.ToFloat64(h.srv.metrics.connsAtLimit); got != 2 {
				t.Errorf("connection stream limit reached = %v, want 2", got)
			}
			if got := testutil.ToFloat64(h.srv.metrics.grpcConns); got != 1 {
				t.Errorf("gRPC connections = %v, want 1", got)
			}
		})
	}
}

// TestFirstRequestDeadline: a stream that sends nothing is ended with
// DeadlineExceeded after FirstRequestTimeout, counted, and frees its slot.
func TestFirstRequestDeadline(t *testing.T) {
	for _, f := range flavours {
		t.Run(f.name, func(t *testing.T) {
			h := startWith(t, Options{Limits: Limits{FirstRequestTimeout: 50 * time.Millisecond}})
			st, err := f.open(t.Context(), h.conn(t))
			if err != nil {
				t.Fatal(err)
			}
			defer st.cancel()
			if err := st.recv(); status.Code(err) != codes.DeadlineExceeded || !strings.Contains(err.Error(), "no request within") {
				t.Fatalf("silent stream: %v, want DeadlineExceeded no request within", err)
			}
			if got := h.refusedBy(reasonNoRequest); got != 1 {
				t.Errorf("refused{no_request} = %v, want 1", got)
			}
			eventually(t, "the slot freed", func() bool { return h.openStreams() == 0 })
		})
	}
}

func TestLimitsDefaults(t *testing.T) {
	tests := []struct {
		in, want Limits
	}{
		{Limits{}, Limits{DefaultMaxConns, DefaultMaxStreams, DefaultMaxStreamsPerConn, DefaultFirstRequestTimeout, DefaultIdleConnTimeout}},
		{Limits{-1, -1, -1, -1, -1}, Limits{DefaultMaxConns, DefaultMaxStreams, DefaultMaxStreamsPerConn, DefaultFirstRequestTimeout, DefaultIdleConnTimeout}},
		{Limits{4, 3, 2, time.Second, time.Minute}, Limits{4, 3, 2, time.Second, time.Minute}},
		{Limits{MaxStreamsPerConn: math.MaxUint32 + 1},
			Limits{DefaultMaxConns, DefaultMaxStreams, math.MaxUint32, DefaultFirstRequestTimeout, DefaultIdleConnTimeout}},
	}
	for _, tt := range tests {
		got := tt.in
		got.defaults()
		if got != tt.want {
			t.Errorf("%+v.defaults() = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

// TestSilentStreamEndsOnStop: a stream still waiting for its first request
// ends with status OK when Serve's context ends, as identified streams do,
// rather than holding the graceful stop until its connection is cut.
func TestSilentStreamEndsOnStop(t *testing.T) {
	srv := New(Options{Limits: Limits{FirstRequestTimeout: time.Hour}})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	h := &harness{srv: srv, addr: ln.Addr().String()}
	st, err := openSotw(t.Context(), h.conn(t))
	if err != nil {
		t.Fatal(err)
	}
	defer st.cancel()
	eventually(t, "the stream admitted", func() bool { return srv.openStreams.Load() == 1 })
	cancel()
	if err := st.recv(); err != io.EOF {
		t.Errorf("silent stream on stop: %v, want status OK (EOF)", err)
	}
	if err := <-done; err != nil {
		t.Errorf("Serve: %v", err)
	}
}

// TestIdleConnectionClosed: a connection whose last stream ended is closed
// by the server after IdleConnTimeout; one with an open stream is kept.
func TestIdleConnectionClosed(t *testing.T) {
	h := startWith(t, Options{Limits: Limits{IdleConnTimeout: 50 * time.Millisecond}})
	busy := h.mustOpen(t, openSotw, h.conn(t), "mesh/m/virtualNode/busy")
	idle := h.mustOpen(t, openSotw, h.conn(t), "mesh/m/virtualNode/idle")
	if got := testutil.ToFloat64(h.srv.metrics.grpcConns); got != 2 {
		t.Fatalf("gRPC connections = %v, want 2", got)
	}
	idle.cancel()
	eventually(t, "the idle connection closed", func() bool { return testutil.ToFloat64(h.srv.metrics.grpcConns) == 1 })
	if !h.srv.Node("mesh/m/virtualNode/busy").Connected {
		t.Error("the busy connection's stream was closed")
	}
	busy.cancel()
}

// TestConnectionCapOverListeners: MaxConns holds over every listener of a
// Server, plaintext ones included: with one connection serving a stream
// on the first listener, a connection to the second is closed at accept
// and counted.
func TestConnectionCapOverListeners(t *testing.T) {
	h := startWith(t, Options{Limits: Limits{MaxConns: 1}})
	second := serveLoopback(t, h.srv)
	h.mustOpen(t, openSotw, h.conn(t), "mesh/m/virtualNode/first")
	c, err := net.Dial("tcp", second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	eventually(t, "the second connection rejected", func() bool { return testutil.ToFloat64(h.srv.metrics.connsRejected) == 1 })
	_ = c.SetReadDeadline(time.Now().Add(wait))
	if _, err := c.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("connection past the cap: read %v, want it closed", err)
	}
	if got := testutil.ToFloat64(h.srv.metrics.conns); got != 1 {
		t.Errorf("trellis_xds_listener_connections = %v, want 1", got)
	}
}
