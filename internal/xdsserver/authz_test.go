package xdsserver

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// principalAuth proves a principal (as SigV4 call credentials do) that
// may stream as .../virtualNode/web; "bad" stands for a signature that
// does not verify. calls counts Authorize calls.
func principalAuth(calls *atomic.Int64) Authenticator {
	return func(context.Context) (Identity, error) {
		return Identity{Proof: "sigv4:AKIATEST", Authorize: func(_ context.Context, node string) error {
			calls.Add(1)
			switch {
			case strings.HasSuffix(node, "/virtualNode/web"):
				return nil
			case strings.HasSuffix(node, "/virtualNode/bad"):
				return status.Error(codes.Unauthenticated, "xds: InvalidSignatureException")
			}
			return errors.New("AccessDeniedException")
		}}, nil
	}
}

// TestAuthorizedIdentity: an identity with Authorize is served when
// Authorize accepts the claimed node id and the id names the server's
// account; Authorize's gRPC code is kept, other errors are
// PermissionDenied, and refusals are counted by reason.
func TestAuthorizedIdentity(t *testing.T) {
	p := newPKI(t, time.Now)
	var calls atomic.Int64
	h := startAuth(t, p, AuthOptions{AccountID: "111122223333", Authenticate: principalAuth(&calls)})
	serveNodes(t, h, "mesh/shop/virtualNode/web", "arn:aws:appmesh:us-east-1:111122223333:mesh/shop/virtualNode/web")
	cert := issue(t, p.ca, "spiffe://trellis.local/mesh/shop/virtualNode/other")
	for _, tc := range []struct {
		name, node string
		want       codes.Code
	}{
		{"allowed", "mesh/shop/virtualNode/web", codes.OK},
		{"allowed, ARN form", "arn:aws:appmesh:us-east-1:111122223333:mesh/shop/virtualNode/web", codes.OK},
		{"denied", "mesh/shop/virtualNode/db", codes.PermissionDenied},
		{"bad signature", "mesh/shop/virtualNode/bad", codes.Unauthenticated},
		{"other account", "arn:aws:appmesh:us-east-1:999999999999:mesh/shop/virtualNode/web", codes.PermissionDenied},
		{"invalid node id", "web", codes.PermissionDenied},
	} {
		if got := openAs(t, h, p.roots, &cert, tc.node); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
	if n := calls.Load(); n != 4 { // not for the other account nor the invalid id
		t.Errorf("Authorize calls = %d, want 4", n)
	}
	for reason, want := range map[string]float64{"permission_denied": 3, "unauthenticated": 1} {
		if n := value(h.srv.metrics.authRefused.WithLabelValues(reason).(prometheus.Metric)); n != want {
			t.Errorf("%s refusals = %v, want %v", reason, n, want)
		}
	}
	if logs := h.logs.String(); !strings.Contains(logs, "proven=sigv4:AKIATEST") {
		t.Errorf("refusal not logged with the access key id:\n%s", logs)
	}
}

// TestAuthorizedIdentityNodeSwitch: a principal's stream is authorized
// once; repeating its node id is served, naming another is refused even
// when Authorize would allow it.
func TestAuthorizedIdentityNodeSwitch(t *testing.T) {
	p := newPKI(t, time.Now)
	var calls atomic.Int64
	h := startAuth(t, p, AuthOptions{Authenticate: principalAuth(&calls)})
	cert := issue(t, p.ca, "spiffe://trellis.local/mesh/shop/virtualNode/other")
	ctx, cancel := context.WithTimeout(t.Context(), wait)
	defer cancel()
	st, err := mtlsClient(t, h, p.roots, &cert).StreamAggregatedResources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, node := range []string{"mesh/shop/virtualNode/web", "mesh/shop/virtualNode/web", "mesh/bank/virtualNode/web"} {
		if err := st.Send(&discoveryv3.DiscoveryRequest{Node: &corev3.Node{Id: node}, TypeUrl: resourcev3.ClusterType}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.Recv(); status.Code(err) != codes.PermissionDenied {
		t.Errorf("stream switching node: %v, want PermissionDenied", err)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("Authorize calls = %d, want 1", n)
	}
}
