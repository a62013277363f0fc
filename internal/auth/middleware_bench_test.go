package auth

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/trellis-mesh/trellis/internal/apiserver/routes"
	"github.com/trellis-mesh/trellis/internal/auth/sigv4"
)

// BenchmarkMiddleware is the server-side cost of authentication per
// request: parse, scope check, key from the in-memory mirror (cached
// signing key), canonical request and HMAC verification, in front of a
// handler that does nothing (no authorizer, no audit).
//
//	go test -run '^$' -bench Middleware -benchmem ./internal/auth/
func BenchmarkMiddleware(b *testing.B) {
	keys, _ := newTestKeys(&testing.T{})
	ctx := context.Background()
	keys.CreatePrincipal(ctx, "arn:aws:iam::111122223333:user/bench")
	c, err := keys.CreateKey(ctx, "arn:aws:iam::111122223333:user/bench", 0)
	if err != nil {
		b.Fatal(err)
	}
	mirror := NewMirror(keys, nil, slog.Default())
	mctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); mirror.Run(mctx) }()
	defer func() { stop(); wg.Wait() }()
	if err := mirror.WaitLoaded(ctx); err != nil {
		b.Fatal(err)
	}
	mw := NewMiddleware(Options{Keys: mirror, Verifier: &sigv4.Verifier{Region: "us-east-1"},
		Classifier: Classifier{Region: "us-east-1", AccountID: "111122223333", Routes: routes.NewTable()}})
	noop := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	req := httptest.NewRequest(http.MethodGet, "/v20190125/meshes/shop", nil)
	creds := aws.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey}
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, sigv4.EmptyPayloadHash, "appmesh", "us-east-1", time.Now()); err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		h    http.Handler
	}{{"off", noop}, {"on", mw.Wrap(noop)}} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				w := httptest.NewRecorder()
				bc.h.ServeHTTP(w, req.Clone(ctx))
				if w.Code != http.StatusOK {
					b.Fatalf("status %d: %s", w.Code, w.Body)
				}
			}
		})
	}
}
