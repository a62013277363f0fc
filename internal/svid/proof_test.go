package svid

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/trellis-mesh/trellis/internal/ca/enrol"
)

// TestSingleUseTokenRenews (issue 13): a sidecar enrolled with a
// single-use join token renews several times and keeps polling the trust
// bundle, proving possession of its current SVID (the CA's minimum TTL,
// one minute; the renewer's clock runs past half-life so renewals follow
// each other at once). The token is never presented again.
func TestSingleUseTokenRenews(t *testing.T) {
	srv, c := newCA(t, time.Minute)
	var withToken, withProof atomic.Int32
	count := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(enrol.ProofHeader) != "" {
			withProof.Add(1)
		}
		if r.Header.Get(enrol.BundleTokenHeader) != "" {
			withToken.Add(1)
		}
		proxy(t, srv.URL, w, r)
	}))
	defer count.Close()
	e := &Enroller{APIURL: count.URL, Token: token(t, c, "demo", "front", true)}
	id := nodeID("demo", "front")

	reg := prometheus.NewRegistry()
	bm := NewBundleMetrics(reg)
	sds := NewSDS(nil)
	var published atomic.Int32
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	r := &Renewer{Enroller: e, ID: id, Metrics: NewMetrics(nil),
		Now: func() time.Time { return time.Now().Add(31 * time.Second) },
		Publish: func(i *Identity) error {
			if published.Add(1) == 5 {
				cancel()
			}
			return sds.Update(i)
		},
	}
	first, err := r.First(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p := &BundlePoller{Enroller: e, ID: id, Interval: 10 * time.Millisecond, Publish: sds.UpdateBundle, Metrics: bm}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = p.Run(ctx) }()
	// Let a few polls happen before the renewals, then renew.
	for testutil.ToFloat64(bm.polls.WithLabelValues("unchanged")) < 3 {
		time.Sleep(5 * time.Millisecond)
	}
	if err := r.Run(ctx, first); err != nil {
		t.Fatalf("renewal stopped: %v", err)
	}
	wg.Wait()
	if n := published.Load(); n != 5 {
		t.Errorf("published %d identities, want 5 (one enrolment, four renewals)", n)
	}
	if v := testutil.ToFloat64(bm.polls.WithLabelValues("error")); v != 0 {
		t.Errorf("%v bundle polls failed", v)
	}
	if n := withToken.Load(); n != 0 {
		t.Errorf("%d bundle polls sent the token", n)
	}
	if n := withProof.Load(); n < 3 {
		t.Errorf("%d bundle polls proved possession, want >= 3", n)
	}
}

// TestProofFallsBackToToken: when the CA refuses the proof (an older CA
// without proofs answers 400 to the unknown field), the renewal is sent
// again with the join token.
func TestProofFallsBackToToken(t *testing.T) {
	srv, c := newCA(t, time.Hour)
	var proofs atomic.Int32
	old := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(enrol.ProofHeader) != "" || bodyHasProof(r) {
			proofs.Add(1)
			http.Error(w, `{"message":"unknown field \"proof\""}`, http.StatusBadRequest)
			return
		}
		proxy(t, srv.URL, w, r)
	}))
	defer old.Close()
	e := &Enroller{APIURL: old.URL, Token: token(t, c, "demo", "*", false)}
	id := nodeID("demo", "front")
	for range 2 {
		if _, err := e.Enrol(t.Context(), id); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.Bundle(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	if n := proofs.Load(); n != 2 {
		t.Errorf("%d proofs sent, want 2 (the renewal and the bundle read)", n)
	}
}
