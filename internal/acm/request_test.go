package acm_test

import (
	"context"
	"crypto/tls"
	"errors"
	"testing"
	"time"

	"github.com/trellis-mesh/trellis/internal/acm"
	"github.com/trellis-mesh/trellis/internal/acm/acmtest"
	"github.com/trellis-mesh/trellis/internal/store"
)

// TestRequestAndRenew: a requested certificate is issued with a sealed
// key that matches it, is not renewed before half its life, is renewed
// after, and a renewal racing another replica's write is skipped. An ARN
// holding an imported certificate is not taken over.
func TestRequestAndRenew(t *testing.T) {
	ctx := context.Background()
	st, sealer := newStore(t)
	s := acm.NewStore(st, sealer)
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	acm.SetNow(s, clock)
	iss := &acmtest.Issuer{CA: acmtest.NewCA(t, "built-in"), TTL: time.Hour, Now: clock}

	if _, err := s.Request(ctx, certARN, nil, iss); !errors.Is(err, acm.ErrInvalid) {
		t.Fatalf("no domains: %v", err)
	}
	if _, err := s.Request(ctx, certARN, []string{"api.local"}, iss); err != nil {
		t.Fatal(err)
	}
	first := material(t, st, sealer)
	if _, err := tls.X509KeyPair(first.Chain, first.Key); err != nil {
		t.Fatalf("issued key pair: %v", err)
	}
	now = now.Add(29 * time.Minute)
	if n, err := s.Renew(ctx, iss); err != nil || n != 0 {
		t.Fatalf("renew before half-life: %d %v", n, err)
	}
	now = now.Add(2 * time.Minute)
	if n, err := s.Renew(ctx, iss); err != nil || n != 1 {
		t.Fatalf("renew after half-life: %d %v", n, err)
	}
	if string(material(t, st, sealer).Chain) == string(first.Chain) {
		t.Fatal("renewal kept the old certificate")
	}
	now = now.Add(40 * time.Minute)
	other := acm.NewStore(st, sealer) // another replica renews first
	acm.SetNow(other, clock)
	iss.OnIssue = func() {
		iss.OnIssue = nil
		if _, err := other.Request(ctx, certARN, []string{"api.local"}, iss); err != nil {
			t.Error(err)
		}
	}
	if n, err := s.Renew(ctx, iss); err != nil || n != 0 {
		t.Fatalf("renew racing another replica: %d %v", n, err)
	}

	ca := acmtest.NewCA(t, "user")
	cert, key := ca.Leaf(t, "imported.local")
	const imported = "arn:aws:acm:us-west-2:123456789012:certificate/imported"
	if _, err := s.Import(ctx, imported, cert, key, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Request(ctx, imported, []string{"x.local"}, iss); !errors.Is(err, acm.ErrImported) {
		t.Fatalf("request over an imported certificate: %v", err)
	}
}

// material reads certARN's resolved material through a Secrets view.
func material(t *testing.T, st store.Store, sealer acm.Sealer) acm.Material {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sec := acm.NewSecrets(st, sealer, nil)
	done := make(chan error, 1)
	go func() { done <- sec.Run(ctx) }()
	defer func() { cancel(); <-done }()
	if err := sec.Next(ctx); err != nil {
		t.Fatal(err)
	}
	m, ok := sec.Lookup(certARN)
	if !ok {
		t.Fatal("requested certificate does not resolve")
	}
	return m
}
