package telemetry

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	metricsv3 "github.com/envoyproxy/go-control-plane/envoy/service/metrics/v3"
	"github.com/prometheus/client_golang/prometheus/testutil"
	promv1 "github.com/prometheus/client_model/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/trellis-mesh/trellis/internal/xdsserver"
)

// serveTest serves tel's MetricsService on loopback until the test ends.
func serveTest(t *testing.T, tel *Telemetry) (metricsv3.MetricsServiceClient, context.CancelFunc) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	gs := grpc.NewServer(tel.ServerOption())
	tel.RegisterService(ctx, gs)
	done := make(chan struct{})
	go func() { defer close(done); _ = gs.Serve(ln) }()
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		cancel()
		gs.GracefulStop()
		<-done
		tel.Wait()
	})
	return metricsv3.NewMetricsServiceClient(conn), cancel
}

func message(node string, fams ...*promv1.MetricFamily) *metricsv3.StreamMetricsMessage {
	m := &metricsv3.StreamMetricsMessage{EnvoyMetrics: fams}
	if node != "" {
		m.Identifier = &metricsv3.StreamMetricsMessage_Identifier{Node: &corev3.Node{Id: node}}
	}
	return m
}

// send opens a stream, sends msgs and returns the stream's final status.
func send(t *testing.T, c metricsv3.MetricsServiceClient, msgs ...*metricsv3.StreamMetricsMessage) error {
	t.Helper()
	st, err := c.StreamMetrics(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if err := st.Send(m); err != nil {
			break // the server ended the stream; CloseAndRecv has why
		}
	}
	_, err = st.CloseAndRecv()
	return err
}

func TestReceiverStream(t *testing.T) {
	tel := New(Options{})
	c, _ := serveTest(t, tel)
	err := send(t, c,
		message("mesh/m/virtualNode/red", gauge(uptimeStat, 1), counter("http.ingress.downstream_rq_completed", 20)),
		message("", counter("http.ingress.downstream_rq_completed", 30)))
	if err != nil {
		t.Fatalf("stream: %v", err)
	}
	snap := tel.Snapshot("m")
	if len(snap) != 1 || snap[0].Requests != 30 || snap[0].Name != "red" || snap[0].Kind != "virtualNode" {
		t.Errorf("snapshot = %+v", snap)
	}
	if got := testutil.ToFloat64(tel.metrics.messages); got != 2 {
		t.Errorf("messages = %v, want 2", got)
	}
}

func TestReceiverRefuses(t *testing.T) {
	big := counter("http.ingress.downstream_rq_completed", 1)
	big.Help = strPtr(strings.Repeat("x", 2048))
	tests := []struct {
		name   string
		opts   Options
		msgs   []*metricsv3.StreamMetricsMessage
		code   codes.Code
		reason string
	}{
		{"no identifier", Options{}, []*metricsv3.StreamMetricsMessage{message("")}, codes.InvalidArgument, "bad_identifier"},
		{"not a proxy id", Options{}, []*metricsv3.StreamMetricsMessage{message("sidecar~10.0.0.1~x")}, codes.InvalidArgument, "bad_identifier"},
		{"message over the bound", Options{MaxMessageBytes: 1024},
			[]*metricsv3.StreamMetricsMessage{message("mesh/m/virtualNode/a", big)}, codes.ResourceExhausted, "too_large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tel := New(tt.opts)
			c, _ := serveTest(t, tel)
			err := send(t, c, tt.msgs...)
			if status.Code(err) != tt.code {
				t.Fatalf("status = %v, want %v", err, tt.code)
			}
			if got := testutil.ToFloat64(tel.metrics.refused.WithLabelValues(tt.reason)); got != 1 {
				t.Errorf("refused{%s} = %v, want 1", tt.reason, got)
			}
			if n := len(tel.Snapshot("")); n != 0 {
				t.Errorf("windows = %d, want 0", n)
			}
		})
	}
}

// TestReceiverMaxStreams holds one stream open at MaxStreams=1; a second
// is refused, and the first ends when the server's context ends.
func TestReceiverMaxStreams(t *testing.T) {
	tel := New(Options{MaxStreams: 1})
	c, cancel := serveTest(t, tel)
	first, err := c.StreamMetrics(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Send(message("mesh/m/virtualNode/a")); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); tel.count(func(t *Telemetry) int { return len(t.streams) }) != 1; {
		if time.Now().After(deadline) {
			t.Fatal("first stream never admitted")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := send(t, c, message("mesh/m/virtualNode/b")); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("second stream: %v, want ResourceExhausted", err)
	}
	if got := testutil.ToFloat64(tel.metrics.refused.WithLabelValues("too_many_streams")); got != 1 {
		t.Errorf("refused{too_many_streams} = %v, want 1", got)
	}
	cancel()
	if _, err := first.CloseAndRecv(); status.Code(err) != codes.Unavailable {
		t.Errorf("first stream after shutdown: %v, want Unavailable", err)
	}
}

func strPtr(s string) *string { return &s }

// TestOpenChecksProvenIdentity: on an authenticated listener a stream may
// only report for the node its certificate proves.
func TestOpenChecksProvenIdentity(t *testing.T) {
	tel := New(Options{})
	ctx := xdsserver.WithProvenIdentity(context.Background(),
		xdsserver.Identity{Ref: xdsserver.NodeRef{Mesh: "m", Kind: xdsserver.KindVirtualNode, Name: "a"}}, "123456789012")
	ps, err := tel.open(ctx, "mesh/m/virtualNode/a")
	if err != nil {
		t.Fatalf("own node: %v", err)
	}
	tel.close(ps)
	if _, err := tel.open(ctx, "mesh/m/virtualNode/b"); status.Code(err) != codes.PermissionDenied {
		t.Errorf("other node: %v, want PermissionDenied", err)
	}
	if refusal(status.Error(codes.PermissionDenied, "")) != "permission_denied" {
		t.Error("refusal label")
	}
	if _, err := tel.open(context.Background(), "mesh/m/virtualNode/b"); err != nil {
		t.Errorf("unauthenticated listener: %v", err)
	}
}

// TestReceiverFirstMessageDeadline: a stream that sends nothing is ended
// with DeadlineExceeded once FirstMessageTimeout passes, counted, and
// leaves nothing behind. (Streams that name their proxy in time are every
// other test, at the default deadline.)
func TestReceiverFirstMessageDeadline(t *testing.T) {
	tel := New(Options{FirstMessageTimeout: 50 * time.Millisecond})
	c, _ := serveTest(t, tel)
	for i := range 2 {
		silent, err := c.StreamMetrics(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		var m metricsv3.StreamMetricsResponse
		if err := silent.RecvMsg(&m); status.Code(err) != codes.DeadlineExceeded || !strings.Contains(err.Error(), errNoFirst.Error()) {
			t.Fatalf("silent stream: %v, want DeadlineExceeded %q", err, errNoFirst)
		}
		if got := testutil.ToFloat64(tel.metrics.refused.WithLabelValues("no_first_message")); got != float64(i+1) {
			t.Errorf("refused{no_first_message} = %v, want %d", got, i+1)
		}
	}
	if n := tel.count(func(t *Telemetry) int { return len(t.streams) }); n != 0 {
		t.Errorf("streams = %d, want 0", n)
	}
}
