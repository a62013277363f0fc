package irgen

import (
	"reflect"
	"testing"
	"time"

	"github.com/trellis-mesh/trellis/internal/apis/appmesh"
	"github.com/trellis-mesh/trellis/internal/ir"
)

func TestRetryEventMapping(t *testing.T) {
	three, sec := int64(3), int64(2)
	perTry := &appmesh.Duration{Unit: "s", Value: &sec}
	serverCodes := []uint32{500, 501, 502, 503, 504, 505, 506, 507, 508, 510, 511}
	tests := []struct {
		name       string
		http, tcp  []string
		grpc       []string
		isGRPC     bool
		wantOn     []string
		wantCodes  []uint32
		wantNilPol bool
	}{
		{name: "server-error", http: []string{"server-error"},
			wantOn: []string{"reset", "retriable-status-codes"}, wantCodes: serverCodes},
		{name: "gateway-error", http: []string{"gateway-error"},
			wantOn: []string{"reset", "retriable-status-codes"}, wantCodes: []uint32{502, 503, 504}},
		{name: "client-error", http: []string{"client-error"},
			wantOn: []string{"retriable-status-codes"}, wantCodes: []uint32{409}},
		{name: "stream-error", http: []string{"stream-error"}, wantOn: []string{"refused-stream"}},
		{name: "connection-error", tcp: []string{"connection-error"}, wantOn: []string{"connect-failure"}},
		{name: "gateway+client+stream (the dumped policy)", http: []string{"gateway-error", "client-error", "stream-error"},
			wantOn: []string{"refused-stream", "reset", "retriable-status-codes"}, wantCodes: []uint32{409, 502, 503, 504}},
		{name: "server+gateway overlap dedups", http: []string{"server-error", "gateway-error"},
			wantOn: []string{"reset", "retriable-status-codes"}, wantCodes: serverCodes},
		{name: "unknown http event maps to nothing", http: []string{"teapot"}, wantNilPol: true},
		{name: "grpc events", isGRPC: true,
			grpc:   []string{"unavailable", "cancelled", "deadline-exceeded", "internal", "resource-exhausted"},
			wantOn: []string{"cancelled", "deadline-exceeded", "internal", "resource-exhausted", "unavailable"}},
		{name: "grpc with http and tcp events", isGRPC: true, grpc: []string{"unavailable"},
			http: []string{"stream-error"}, tcp: []string{"connection-error"},
			wantOn: []string{"connect-failure", "refused-stream", "unavailable"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got *ir.RetryPolicy
			if tt.isGRPC {
				got = grpcRetry(&appmesh.GrpcRetryPolicy{GrpcRetryEvents: tt.grpc, HttpRetryEvents: tt.http,
					TcpRetryEvents: tt.tcp, MaxRetries: &three, PerRetryTimeout: perTry})
			} else {
				got = httpRetry(&appmesh.HttpRetryPolicy{HttpRetryEvents: tt.http, TcpRetryEvents: tt.tcp,
					MaxRetries: &three, PerRetryTimeout: perTry})
			}
			if tt.wantNilPol {
				if got != nil {
					t.Fatalf("got %+v, want no policy", got)
				}
				return
			}
			want := &ir.RetryPolicy{RetryOn: tt.wantOn, RetriableStatusCodes: tt.wantCodes, NumRetries: 3,
				PerTryTimeout: ir.D(2 * time.Second), PreferOtherHosts: true}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("got %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestDefaultRetry(t *testing.T) {
	want := &ir.RetryPolicy{RetryOn: []string{"connect-failure", "refused-stream", "reset", "retriable-status-codes"},
		RetriableStatusCodes: []uint32{503}, NumRetries: 2, PreferOtherHosts: true}
	if got := httpRetry(nil); !reflect.DeepEqual(got, want) {
		t.Errorf("http default: got %+v", got)
	}
	want.RetryOn = append(want.RetryOn, "unavailable")
	if got := grpcRetry(nil); !reflect.DeepEqual(got, want) {
		t.Errorf("grpc default: got %+v", got)
	}
}

func TestProxyEdges(t *testing.T) {
	if _, err := Proxy(nil, NodeRef{Mesh: "m", Kind: "pod", Name: "x"}, Options{}, nil); err == nil {
		t.Error("unknown kind: want an error")
	}
	p, err := Proxy(nil, NodeRef{Mesh: "m", Kind: KindVirtualNode, Name: "x"}, Options{}, nil)
	if err != nil || p.ID != "mesh/m/virtualNode/x" || len(p.Listeners)+len(p.Clusters) != 0 {
		t.Errorf("nil snapshot: got %+v, %v", p, err)
	}
}
