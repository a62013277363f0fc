package demo

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"
)

// App serves the tiny color app: every request is answered with name.
// It returns when ctx ends.
func App(ctx context.Context, name, listen string) error {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			if r.URL.Path == "/peer" {
				// Who called, as the sidecar vouches for it after mTLS.
				fmt.Fprint(w, peerURI(r.Header.Get("X-Forwarded-Client-Cert")))
				return
			}
			fmt.Fprint(w, name)
		}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// peerURI is the caller's URI SAN (its SPIFFE id) in an
// x-forwarded-client-cert value, or "" when there is none.
func peerURI(xfcc string) string {
	for _, kv := range strings.Split(xfcc, ";") {
		if v, ok := strings.CutPrefix(kv, "URI="); ok {
			return v
		}
	}
	return ""
}
