package svid

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/trellis-mesh/trellis/internal/ca/enrol"
)

// runPoller runs p until the test ends.
func runPoller(t *testing.T, p *BundlePoller) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = p.Run(ctx) }()
	t.Cleanup(func() { cancel(); wg.Wait() })
}

// TestBundlePollerPushesRotation: a CA rotation reaches Envoy's SDS stream
// by the poll alone, long before the SVID's renewal; the SVID is kept.
func TestBundlePollerPushesRotation(t *testing.T) {
	srv, c := newCA(t, time.Hour)
	e := &Enroller{APIURL: srv.URL, Token: token(t, c, "demo", "*", false)}
	id := nodeID("demo", "front")
	first, err := e.Enrol(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	sds := NewSDS(nil)
	if err := sds.Update(first); err != nil {
		t.Fatal(err)
	}
	stream, names := sdsStream(t, sds, id)
	recvSecrets(t, stream, names)
	reg := prometheus.NewRegistry()
	m := NewBundleMetrics(reg)
	runPoller(t, &BundlePoller{Enroller: e, ID: id, Interval: 20 * time.Millisecond, Publish: sds.UpdateBundle, Metrics: m})
	if err := c.Rotate(t.Context(), false); err != nil {
		t.Fatal(err)
	}
	got := recvSecrets(t, stream, names)
	if n := strings.Count(string(got["trellis.local"].GetValidationContext().GetTrustedCa().GetInlineBytes()), "BEGIN CERTIFICATE"); n != 2 {
		t.Fatalf("pushed bundle has %d roots, want 2", n)
	}
	if !bytes.Equal(got[SVIDAlias].GetTlsCertificate().GetCertificateChain().GetInlineBytes(), first.ChainPEM) {
		t.Error("the SVID changed with the bundle")
	}
	// The poll is counted after it published the bundle, so the count can
	// trail the push just read: wait for it (the deadline only bounds a hang).
	deadline := time.Now().Add(10 * time.Second)
	for testutil.ToFloat64(m.polls.WithLabelValues("changed")) < 1 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if v := testutil.ToFloat64(m.polls.WithLabelValues("changed")); v != 1 {
		t.Errorf("changed polls = %v, want 1", v)
	}
}

// TestBundlePollerRetries: failed polls are retried, and the bundle is
// published by the first poll that succeeds; a refusal waits a full
// interval.
func TestBundlePollerRetries(t *testing.T) {
	srv, c := newCA(t, time.Hour)
	var calls atomic.Int32
	flaky := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= 2 {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		srv.Config.Handler.ServeHTTP(w, r)
	}))
	defer flaky.Close()
	published := make(chan int32, 1)
	p := &BundlePoller{Enroller: &Enroller{APIURL: flaky.URL, Token: token(t, c, "demo", "*", false)}, ID: nodeID("demo", "front"),
		Interval: time.Millisecond, Publish: func([]byte, time.Time) (bool, error) {
			select {
			case published <- calls.Load():
			default:
			}
			return true, nil
		}}
	runPoller(t, p)
	if n := <-published; n != 3 {
		t.Errorf("first publish after %d calls, want 3 (2 failures, then the bundle)", n)
	}
}

// TestBundlePollerBackoff: the retry wait doubles from minRetry per failure
// and stops at the interval (its bound); success or a refusal returns to
// the jittered interval.
func TestBundlePollerBackoff(t *testing.T) {
	down, refused := errors.New("down"), ErrRefused
	iv := 5 * time.Second
	p := &BundlePoller{Interval: iv}
	for _, tc := range []struct {
		name     string
		backoff  time.Duration
		err      error
		wantWait time.Duration // 0: the jittered interval
	}{
		{"first failure", 0, down, minRetry},
		{"second failure", minRetry, down, 2 * minRetry},
		{"at the bound", 4 * time.Second, down, iv},
		{"past the bound", iv, down, iv},
		{"success", 2 * time.Second, nil, 0},
		{"refused", 2 * time.Second, refused, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wait, next := p.next(tc.backoff, tc.err)
			if tc.wantWait == 0 {
				lo, hi := time.Duration(float64(iv)*(1-enrol.BundleRefreshJitter)), time.Duration(float64(iv)*(1+enrol.BundleRefreshJitter))
				if wait < lo || wait > hi || next != 0 {
					t.Fatalf("wait %s backoff %s, want %s..%s and 0", wait, next, lo, hi)
				}
				return
			}
			if wait != tc.wantWait || next != tc.wantWait {
				t.Fatalf("wait %s backoff %s, want %s", wait, next, tc.wantWait)
			}
		})
	}
}

// TestBundleAnswer: the answer is checked (trust domain, CA certificates
// only) and bounded in size.
func TestBundleAnswer(t *testing.T) {
	srv, c := newCA(t, time.Hour)
	b, err := c.Bundle(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	ident, err := (&Enroller{APIURL: srv.URL, Token: token(t, c, "demo", "*", false)}).Enrol(t.Context(), nodeID("demo", "front"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, body string
		wantErr    string
	}{
		{"the bundle", `{"trustDomain":"trellis.local","trustBundle":` + quote(b) + `}`, ""},
		{"other trust domain", `{"trustDomain":"evil.local","trustBundle":` + quote(b) + `}`, "trust domain"},
		{"a leaf, not a CA", `{"trustDomain":"trellis.local","trustBundle":` + quote(string(ident.ChainPEM)) + `}`, "not a CA"},
		{"empty", `{"trustDomain":"trellis.local","trustBundle":""}`, "no certificate"},
		{"over the bound", `{"trustDomain":"trellis.local","trustBundle":"` + strings.Repeat("x", maxResponse) + `"}`, "larger than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Write([]byte(tc.body))
			}))
			defer fake.Close()
			got, err := (&Enroller{APIURL: fake.URL, Token: "t"}).Bundle(t.Context(), nodeID("demo", "front"))
			if tc.wantErr == "" {
				if err != nil || string(got) != b {
					t.Fatalf("got %q, %v", got, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err %v, want it to mention %q", err, tc.wantErr)
			}
		})
	}
}

// TestSDSUpdateBundle: an equal bundle is not republished, nor one asked
// for before the served identity arrived (a racing renewal's is fresher).
func TestSDSUpdateBundle(t *testing.T) {
	srv, c := newCA(t, time.Hour)
	ident, err := (&Enroller{APIURL: srv.URL, Token: token(t, c, "demo", "*", false)}).Enrol(t.Context(), nodeID("demo", "front"))
	if err != nil {
		t.Fatal(err)
	}
	sds := NewSDS(nil)
	now := time.Now()
	if changed, err := sds.UpdateBundle(ident.BundlePEM, now); changed || err != nil {
		t.Fatalf("before any identity: %v %v", changed, err)
	}
	sds.Update(ident)
	if changed, err := sds.UpdateBundle(ident.BundlePEM, now); changed || err != nil {
		t.Fatalf("same bundle: %v %v", changed, err)
	}
	c.Rotate(t.Context(), false)
	b, _ := c.Bundle(t.Context())
	if changed, err := sds.UpdateBundle([]byte(b), ident.Issued.Add(-time.Second)); changed || err != nil {
		t.Fatalf("bundle asked for before the identity's answer: %v %v", changed, err)
	}
	if changed, err := sds.UpdateBundle([]byte(b), now); !changed || err != nil {
		t.Fatalf("new bundle: %v %v", changed, err)
	}
	if cur := sds.Current(); string(cur.BundlePEM) != b || !bytes.Equal(cur.KeyPEM, ident.KeyPEM) {
		t.Error("current identity: wrong bundle or key")
	}
}

func quote(s string) string {
	return `"` + strings.ReplaceAll(s, "\n", `\n`) + `"`
}
