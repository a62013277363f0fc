package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/trellis-mesh/trellis/internal/ca"
	"github.com/trellis-mesh/trellis/internal/ca/caapi"
	"github.com/trellis-mesh/trellis/internal/ca/enrol"
	"github.com/trellis-mesh/trellis/internal/store/bolt"
)

// With -mtls a third copy of the Trellis path runs in a second mesh,
// tagged trellis.io/mtls: STRICT: its sidecars enrol (--join-token) with
// a built-in CA and serve their SVIDs to Envoy over SDS, and the hop
// between the two Envoys is mutual TLS. The CA runs in this process on
// its own store, since it is the sidecar side that is measured.
const (
	mtlsFront = "127.0.0.23"
	mtlsBack  = "127.0.0.24"
	mtlsMesh  = "benchtls"
)

// benchCA is the in-process CA and its enrolment API.
type benchCA struct {
	url   string
	ca    *ca.CA
	srv   *http.Server
	done  chan error
	close func() error
}

func startCA(work string) (*benchCA, error) {
	st, err := bolt.Open(filepath.Join(work, "ca.db"), bolt.Options{NoSync: true})
	if err != nil {
		return nil, fmt.Errorf("ca store: %w", err)
	}
	sealer, err := ca.NewAESGCM(make([]byte, ca.KeySize))
	if err != nil {
		st.Close()
		return nil, err
	}
	c, err := ca.New(ca.Options{Store: st, Sealer: sealer, Logger: slog.New(slog.DiscardHandler)})
	if err == nil {
		err = c.Ensure(context.Background())
	}
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("ca: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		st.Close()
		return nil, err
	}
	mux := http.NewServeMux()
	caapi.Mount(mux, c, caapi.Options{Logger: slog.New(slog.DiscardHandler)})
	b := &benchCA{url: "http://" + ln.Addr().String(), ca: c, srv: &http.Server{Handler: mux}, done: make(chan error, 1)}
	go func() { b.done <- b.srv.Serve(ln) }()
	b.close = func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err := b.srv.Shutdown(ctx)
		if serr := <-b.done; !errors.Is(serr, http.ErrServerClosed) {
			err = errors.Join(err, serr)
		}
		return errors.Join(err, st.Close())
	}
	return b, nil
}

// startMTLSPath defines the auto-mTLS mesh and starts its two sidecars,
// each with its own join token.
func startMTLSPath(ctx context.Context, procs *processes, o options, work, api, xds string, b *benchCA) ([]envoyAdmin, error) {
	tags := `,"tags":[{"key":"trellis.io/mtls","value":"STRICT"}]`
	if err := defineMeshNamed(ctx, api, mtlsMesh, tags, mtlsBack); err != nil {
		return nil, err
	}
	var admins []envoyAdmin
	for _, sc := range []struct{ node, ip string }{{"back", mtlsBack}, {"front", mtlsFront}} {
		tok, err := b.ca.CreateToken(ctx, enrol.TokenRequest{Mesh: mtlsMesh, Node: sc.node, TTL: "24h"})
		if err != nil {
			return nil, fmt.Errorf("join token: %w", err)
		}
		admin, err := startSidecar(procs, o, work, xds, mtlsMesh, sc.node, sc.ip,
			"--join-token", tok.Token, "--ca-endpoint", b.url)
		if err != nil {
			return nil, err
		}
		admins = append(admins, envoyAdmin{"mtls " + sc.node, admin})
	}
	return admins, nil
}
