package acm_test

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/trellis-mesh/trellis/internal/acm"
	"github.com/trellis-mesh/trellis/internal/acm/acmtest"
	"github.com/trellis-mesh/trellis/internal/store"
	"github.com/trellis-mesh/trellis/internal/store/bolt"
)

const (
	certARN = "arn:aws:acm:us-west-2:123456789012:certificate/abc-123"
	caARN   = "arn:aws:acm-pca:us-west-2:123456789012:certificate-authority/ca-1"
	caARN2  = "arn:aws:acm-pca:us-west-2:123456789012:certificate-authority/ca-2"
)

func newStore(t *testing.T) (store.Store, acm.Sealer) {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "s.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st, acmtest.Sealer(t)
}

func TestARNForms(t *testing.T) {
	for _, tc := range []struct {
		arn    string
		cert   bool
		wantOK bool
	}{
		{certARN, true, true},
		{"arn:aws-cn:acm:cn-north-1:123456789012:certificate/x", true, true},
		{caARN, false, true},
		{caARN, true, false},
		{certARN, false, false},
		{"arn:aws:acm:us-west-2:12345:certificate/x", true, false},
		{"arn:aws:acm:us-west-2:123456789012:certificate/", true, false},
		{"arn:aws:acm:us-west-2:123456789012:certificate/a,b", true, false},
		{"arn:aws:acm::123456789012:certificate/x", true, false},
		{"", true, false},
	} {
		check := acm.CheckCAARN
		if tc.cert {
			check = acm.CheckCertificateARN
		}
		err := check(tc.arn)
		if (err == nil) != tc.wantOK || err != nil && !errors.Is(err, acm.ErrBadARN) {
			t.Errorf("%q cert=%v: err %v, want ok=%v", tc.arn, tc.cert, err, tc.wantOK)
		}
	}
}

func TestImportValidation(t *testing.T) {
	st, sealer := newStore(t)
	s := acm.NewStore(st, sealer)
	ca, other := acmtest.NewCA(t, "ca"), acmtest.NewCA(t, "other")
	cert, key := ca.Leaf(t, "svc.local")
	_, otherKey := ca.Leaf(t, "x.local")
	for _, tc := range []struct {
		name             string
		arn              string
		cert, key, chain []byte
		want             error
	}{
		{"ok", certARN, cert, key, nil, nil},
		{"ok with chain", certARN, cert, key, ca.CertPEM, nil},
		{"bad arn", caARN, cert, key, nil, acm.ErrBadARN},
		{"key mismatch", certARN, cert, otherKey, nil, acm.ErrInvalid},
		{"no pem", certARN, []byte("hello"), key, nil, acm.ErrInvalid},
		{"chain of another CA", certARN, cert, key, other.CertPEM, acm.ErrInvalid},
		{"two leaves", certARN, append(cert, cert...), key, nil, acm.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Import(context.Background(), tc.arn, tc.cert, tc.key, tc.chain)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
		})
	}
	if _, err := s.RegisterCA(context.Background(), caARN, cert); !errors.Is(err, acm.ErrInvalid) {
		t.Fatalf("leaf as CA bundle: %v", err)
	}
}

func TestKeySealedAtRest(t *testing.T) {
	st, sealer := newStore(t)
	s := acm.NewStore(st, sealer)
	ca := acmtest.NewCA(t, "ca")
	cert, key := ca.Leaf(t, "svc.local")
	if _, err := s.Import(context.Background(), certARN, cert, key, nil); err != nil {
		t.Fatal(err)
	}
	kvs, _, err := st.List(context.Background(), acm.KeyPrefix, store.ListOptions{})
	if err != nil || len(kvs) != 1 {
		t.Fatalf("list: %v %d", err, len(kvs))
	}
	body := bytes.Split(key, []byte("\n"))[1]
	if bytes.Contains(kvs[0].Value, body) || bytes.Contains(kvs[0].Value, []byte("PRIVATE KEY")) {
		t.Fatal("private key stored in clear")
	}
	// Another key file cannot open it: the secret resolves to nothing.
	_, otherSealer := newStore(t)
	sec := acm.NewSecrets(st, otherSealer, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sec.Run(ctx) }()
	if err := sec.Next(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := sec.Lookup(certARN); ok {
		t.Fatal("opened with another key")
	}
	if n := gaugeValue(t, sec.Collectors()[2]); n != 1 {
		t.Fatalf("trellis_acm_records_unopenable = %v, want 1", n)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestSecretsFollowStore(t *testing.T) {
	st, sealer := newStore(t)
	s := acm.NewStore(st, sealer)
	sec := acm.NewSecrets(st, sealer, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- sec.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	ca := acmtest.NewCA(t, "ca")
	cert, key := ca.Leaf(t, "svc.local")
	e, err := s.Import(ctx, certARN, cert, key, ca.CertPEM)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.RegisterCA(ctx, caARN, ca.CertPEM); err != nil {
		t.Fatal(err)
	}
	waitFor(ctx, t, sec, func() bool { _, ok := sec.Lookup(caARN); return ok })
	m, ok := sec.Lookup(certARN)
	if !ok || !bytes.Equal(m.Key, key) || !bytes.Equal(m.Chain, append(append([]byte{}, cert...), ca.CertPEM...)) {
		t.Fatalf("certificate material: %v", ok)
	}
	trust := acm.TrustName([]string{caARN2, caARN})
	if m, ok := sec.Lookup(trust); !ok || !bytes.Equal(m.Bundle, ca.CertPEM) {
		t.Fatalf("trust of one registered CA out of two: %v %q", ok, m.Bundle)
	}
	if _, ok := sec.Lookup(caARN2); ok {
		t.Fatal("unregistered CA resolved")
	}
	es, err := s.List(ctx)
	if err != nil || len(es) != 2 || es[1].ARN != certARN || es[1].Revision != e.Revision {
		t.Fatalf("list: %v %+v", err, es)
	}
	if err := s.Delete(ctx, certARN); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, certARN); !errors.Is(err, acm.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	waitFor(ctx, t, sec, func() bool { _, ok := sec.Lookup(certARN); return !ok })
	if c, a := gaugeValue(t, sec.Collectors()[0]), gaugeValue(t, sec.Collectors()[1]); c != 0 || a != 1 {
		t.Fatalf("trellis_acm_records: %v certificates, %v CAs; want 0, 1", c, a)
	}
}

func waitFor(ctx context.Context, t *testing.T, sec *acm.Secrets, cond func() bool) {
	t.Helper()
	for !cond() {
		if err := sec.Next(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

// gaugeValue reads a one-series gauge.
func gaugeValue(t *testing.T, c prometheus.Collector) float64 {
	t.Helper()
	ch := make(chan prometheus.Metric, 1)
	c.Collect(ch)
	var m dto.Metric
	if err := (<-ch).Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetGauge().GetValue()
}
