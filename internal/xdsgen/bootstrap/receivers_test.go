package bootstrap

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protowire"
)

// Receivers written for the tests: each speaks a real telemetry protocol
// and records what arrives, so the tests can wait for it.

// recorder collects messages and wakes waiters.
type recorder struct {
	mu   sync.Mutex
	msgs []string
	more chan struct{}
}

func newRecorder() *recorder { return &recorder{more: make(chan struct{}, 1)} }

func (r *recorder) add(m string) {
	r.mu.Lock()
	r.msgs = append(r.msgs, m)
	r.mu.Unlock()
	select {
	case r.more <- struct{}{}:
	default:
	}
}

// wait returns the first message for which ok is true, or fails when ctx
// ends first.
func (r *recorder) wait(ctx context.Context, t *testing.T, what string, ok func(string) bool) string {
	t.Helper()
	seen := 0
	for {
		r.mu.Lock()
		msgs := r.msgs[seen:]
		seen = len(r.msgs)
		r.mu.Unlock()
		for _, m := range msgs {
			if ok(m) {
				return m
			}
		}
		select {
		case <-r.more:
		case <-ctx.Done():
			r.mu.Lock()
			defer r.mu.Unlock()
			t.Fatalf("no %s arrived; got %d messages: %.2000s", what, len(r.msgs), strings.Join(r.msgs, "\n"))
		}
	}
}

// udpReceiver records each datagram (DogStatsD lines, X-Ray segments).
func udpReceiver(t *testing.T) (*recorder, uint32) {
	t.Helper()
	rec, pc := packetReceiver(t, "udp4", "127.0.0.1:0")
	return rec, uint32(pc.LocalAddr().(*net.UDPAddr).Port)
}

// packetReceiver records each datagram arriving on a new packet listener
// (network and address as net.ListenPacket takes them) until the test ends.
func packetReceiver(t *testing.T, network, addr string) (*recorder, net.PacketConn) {
	t.Helper()
	pc, err := net.ListenPacket(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	rec := newRecorder()
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 64<<10)
		for {
			n, _, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			rec.add(string(buf[:n]))
		}
	}()
	t.Cleanup(func() { pc.Close(); <-done })
	return rec, pc
}

// zipkinReceiver serves POST /api/v2/spans and records each body (JSON
// bodies as is, others as "content-type: <type>").
func zipkinReceiver(t *testing.T) (*recorder, uint32) {
	t.Helper()
	rec := newRecorder()
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+ZipkinEndpoint, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ct := r.Header.Get("Content-Type")
		if strings.Contains(ct, "json") {
			rec.add(string(body))
		} else {
			rec.add("content-type: " + ct)
		}
		w.WriteHeader(http.StatusAccepted)
	})
	return rec, serveHTTP(t, mux)
}

func serveHTTP(t *testing.T, h http.Handler) uint32 {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close(); <-done })
	return uint32(ln.Addr().(*net.TCPAddr).Port)
}

// rawCodec passes gRPC messages through as bytes, so the OTLP receiver
// needs no generated code.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) { return *(v.(*[]byte)), nil }
func (rawCodec) Unmarshal(data []byte, v any) error {
	*(v.(*[]byte)) = append([]byte(nil), data...)
	return nil
}
func (rawCodec) Name() string { return "proto" }

// otlpReceiver serves opentelemetry.proto.collector.trace.v1.TraceService
// over gRPC and records "service=<service.name> span=<name>" per span.
func otlpReceiver(t *testing.T) (*recorder, uint32) {
	t.Helper()
	rec := newRecorder()
	const method = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
	srv := grpc.NewServer(grpc.ForceServerCodec(rawCodec{}),
		grpc.UnknownServiceHandler(func(_ any, stream grpc.ServerStream) error {
			if m, _ := grpc.MethodFromServerStream(stream); m != method {
				return errors.New("unknown method " + m)
			}
			var req []byte
			if err := stream.RecvMsg(&req); err != nil {
				return err
			}
			for _, s := range otlpSpans(req) {
				rec.add(s)
			}
			resp := []byte{}
			return stream.SendMsg(&resp)
		}))
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Stop(); <-done })
	return rec, uint32(ln.Addr().(*net.TCPAddr).Port)
}

// otlpSpans decodes an ExportTraceServiceRequest far enough to name its
// spans: resource_spans(1){resource(1){attributes(1)}, scope_spans(2)
// {spans(2){name(5)}}}.
func otlpSpans(req []byte) []string {
	var out []string
	for _, rs := range fields(req, 1) {
		service := ""
		for _, res := range fields(rs, 1) {
			for _, kv := range fields(res, 1) {
				if k := fields(kv, 1); len(k) == 1 && string(k[0]) == "service.name" {
					for _, v := range fields(kv, 2) {
						if s := fields(v, 1); len(s) == 1 {
							service = string(s[0])
						}
					}
				}
			}
		}
		for _, ss := range fields(rs, 2) {
			for _, span := range fields(ss, 2) {
				for _, name := range fields(span, 5) {
					out = append(out, "service="+service+" span="+string(name))
				}
			}
		}
	}
	return out
}

// fields returns the length-delimited values of field num in msg.
func fields(msg []byte, num protowire.Number) [][]byte {
	var out [][]byte
	for len(msg) > 0 {
		n, typ, l := protowire.ConsumeTag(msg)
		if l < 0 {
			return out
		}
		msg = msg[l:]
		if typ == protowire.BytesType {
			v, m := protowire.ConsumeBytes(msg)
			if m < 0 {
				return out
			}
			if n == num {
				out = append(out, v)
			}
			msg = msg[m:]
			continue
		}
		m := protowire.ConsumeFieldValue(n, typ, msg)
		if m < 0 {
			return out
		}
		msg = msg[m:]
	}
	return out
}

// jsonHas reports whether s is JSON (an object or a list of them, after
// an optional X-Ray header line) in which some object has every key=value
// of want at its top level or under any nesting.
func jsonHas(s string, want map[string]string) bool {
	if i := strings.IndexByte(s, '\n'); i >= 0 && strings.HasPrefix(s, `{"format"`) {
		s = s[i+1:]
	}
	var v any
	if err := json.NewDecoder(bytes.NewReader([]byte(s))).Decode(&v); err != nil {
		return false
	}
	return walkJSON(v, want)
}

func walkJSON(v any, want map[string]string) bool {
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			if walkJSON(e, want) {
				return true
			}
		}
	case map[string]any:
		all := true
		for k, w := range want {
			if s, ok := x[k].(string); !ok || s != w {
				all = false
			}
		}
		if all {
			return true
		}
		for _, e := range x {
			if walkJSON(e, want) {
				return true
			}
		}
	}
	return false
}
