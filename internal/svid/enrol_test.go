package svid

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trellis-mesh/trellis/internal/auth/awscreds"
	"github.com/trellis-mesh/trellis/internal/ca"
	"github.com/trellis-mesh/trellis/internal/ca/caapi"
	"github.com/trellis-mesh/trellis/internal/ca/enrol"
	"github.com/trellis-mesh/trellis/internal/store/bolt"
)

// newCA runs the real CA and its HTTP API on loopback.
func newCA(t testing.TB, ttl time.Duration) (*httptest.Server, *ca.CA) {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "t.db"), bolt.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sealer, _ := ca.NewAESGCM(make([]byte, ca.KeySize))
	c, err := ca.New(ca.Options{Store: st, Sealer: sealer, SVIDTTL: ttl, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Ensure(context.Background()); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	caapi.Mount(mux, c, caapi.Options{Logger: slog.New(slog.DiscardHandler)})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, c
}

func token(t testing.TB, c *ca.CA, mesh, pattern string, single bool) string {
	t.Helper()
	tok, err := c.CreateToken(context.Background(), enrol.TokenRequest{Mesh: mesh, NodePattern: pattern, TTL: "1h", SingleUse: single})
	if err != nil {
		t.Fatal(err)
	}
	return tok.Token
}

func nodeID(mesh, name string) enrol.ID {
	return enrol.ID{TrustDomain: ca.DefaultTrustDomain, Mesh: mesh, Kind: enrol.KindVirtualNode, Name: name}
}

func TestEnrol(t *testing.T) {
	srv, c := newCA(t, time.Hour)
	tests := []struct {
		name    string
		token   string
		id      enrol.ID
		refused bool
	}{
		{"ok", token(t, c, "demo", "*", false), nodeID("demo", "front"), false},
		{"other mesh", token(t, c, "other", "*", false), nodeID("demo", "front"), true},
		{"no token", "", nodeID("demo", "front"), true},
		{"bad token", "nonsense", nodeID("demo", "front"), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := &Enroller{APIURL: srv.URL, Token: tc.token}
			ident, err := e.Enrol(t.Context(), tc.id)
			if tc.refused {
				if !errors.Is(err, ErrRefused) {
					t.Fatalf("want ErrRefused, got %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := ident.Leaf.URIs[0].String(); got != tc.id.String() {
				t.Errorf("leaf SAN %s, want %s", got, tc.id)
			}
			if ttl := ident.NotAfter().Sub(ident.NotBefore()); ttl < time.Hour {
				t.Errorf("lifetime %v", ttl)
			}
			// Half of the lifetime left at issue (the CA backdates
			// NotBefore for skew), so a 1-minute SVID renews after ~30 s.
			if d := ident.RenewAt().Sub(ident.Issued); d < 29*time.Minute || d > 31*time.Minute {
				t.Errorf("renews %v after issue, want ~30m", d)
			}
		})
	}
}

// TestRenewerRenews runs the renewer with a clock past half-life: every
// cycle enrols again (a fresh key each time) and publishes.
func TestRenewerRenews(t *testing.T) {
	srv, c := newCA(t, time.Hour)
	var published atomic.Int32
	var keys = map[string]bool{}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	r := &Renewer{
		Enroller: &Enroller{APIURL: srv.URL, Token: token(t, c, "demo", "front", false)},
		ID:       nodeID("demo", "front"),
		Metrics:  NewMetrics(nil),
		Now:      func() time.Time { return time.Now().Add(40 * time.Minute) },
		Publish: func(i *Identity) error {
			keys[string(i.KeyPEM)] = true
			if published.Add(1) == 4 {
				cancel()
			}
			return nil
		},
	}
	first, err := r.First(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Run(ctx, first); err != nil {
		t.Fatal(err)
	}
	if published.Load() != 4 || len(keys) != 4 {
		t.Errorf("published %d identities with %d keys, want 4 and 4", published.Load(), len(keys))
	}
}

// TestRenewerRefused: a token refused by the CA stops the first enrolment
// at once rather than retrying forever.
func TestRenewerRefused(t *testing.T) {
	srv, _ := newCA(t, time.Hour)
	r := &Renewer{Enroller: &Enroller{APIURL: srv.URL, Token: "wrong"}, ID: nodeID("demo", "front"),
		Publish: func(*Identity) error { return nil }}
	if _, err := r.First(t.Context()); !errors.Is(err, ErrRefused) {
		t.Fatalf("want ErrRefused, got %v", err)
	}
}

// TestRenewerRetries: a server error is retried (backoff from minRetry)
// until it succeeds.
func TestRenewerRetries(t *testing.T) {
	srv, c := newCA(t, time.Hour)
	var calls atomic.Int32
	flaky := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) < 3 {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		rp, _ := http.NewRequestWithContext(r.Context(), r.Method, srv.URL+r.URL.Path, r.Body)
		rp.Header = r.Header
		res, err := http.DefaultClient.Do(rp)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer res.Body.Close()
		w.WriteHeader(res.StatusCode)
		buf := make([]byte, 64<<10)
		for {
			n, err := res.Body.Read(buf)
			w.Write(buf[:n])
			if err != nil {
				return
			}
		}
	}))
	defer flaky.Close()
	r := &Renewer{Enroller: &Enroller{APIURL: flaky.URL, Token: token(t, c, "demo", "*", false)},
		ID: nodeID("demo", "front"), Publish: func(*Identity) error { return nil }}
	if _, err := r.First(t.Context()); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 3 {
		t.Errorf("%d calls, want 3", calls.Load())
	}
}

func TestParseSignResponse(t *testing.T) {
	srv, c := newCA(t, time.Hour)
	id := nodeID("demo", "front")
	good, err := (&Enroller{APIURL: srv.URL, Token: token(t, c, "demo", "*", false)}).Enrol(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	_, otherCA := newCA(t, time.Hour)
	otherBundle, _ := otherCA.Bundle(t.Context())
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	resp := enrol.SignResponse{CertificateChain: string(good.ChainPEM), TrustBundle: string(good.BundlePEM)}
	tests := []struct {
		name string
		r    enrol.SignResponse
		id   enrol.ID
	}{
		{"empty", enrol.SignResponse{}, id},
		{"garbage", enrol.SignResponse{CertificateChain: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"}, id},
		{"other id", resp, nodeID("demo", "back")},
		{"other key", resp, id},
		{"other ca", enrol.SignResponse{CertificateChain: resp.CertificateChain, TrustBundle: otherBundle}, id},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := parseSignResponse(tc.r, tc.id, key); err == nil {
				t.Error("accepted")
			}
		})
	}
}

// TestEnrolSigV4: without a token the request goes through Sign (the
// sidecar's --enrol-sigv4 signs it with AWS credentials); the server's
// authoriser sees the signature.
func TestEnrolSigV4(t *testing.T) {
	st, err := bolt.Open(filepath.Join(t.TempDir(), "t.db"), bolt.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	sealer, _ := ca.NewAESGCM(make([]byte, ca.KeySize))
	c, err := ca.New(ca.Options{Store: st, Sealer: sealer, Logger: slog.New(slog.DiscardHandler)})
	if err != nil || c.Ensure(t.Context()) != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	caapi.Mount(mux, c, caapi.Options{Logger: slog.New(slog.DiscardHandler), Authorize: func(r *http.Request, _ []byte, id enrol.ID) error {
		if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/") {
			return caapi.ErrNoCredentials
		}
		return nil
	}})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	env := map[string]string{"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_REGION": "eu-west-1"}
	getenv := func(k string) string { return env[k] }
	signed := &Enroller{APIURL: srv.URL, Sign: func(r *http.Request, body []byte) error {
		return awscreds.Sign(r, body, "appmesh", getenv, "us-west-2")
	}}
	if _, err := signed.Enrol(t.Context(), nodeID("demo", "front")); err != nil {
		t.Fatalf("signed enrolment: %v", err)
	}
	if _, err := (&Enroller{APIURL: srv.URL}).Enrol(t.Context(), nodeID("demo", "front")); !errors.Is(err, ErrRefused) {
		t.Fatalf("unsigned enrolment: want ErrRefused, got %v", err)
	}
}

// TestEnrolAnswerBound: an answer longer than maxResponse is cut there and
// refused, not read into memory whole.
func TestEnrolAnswerBound(t *testing.T) {
	for _, tc := range []struct {
		name string
		size int
		ok   bool
	}{{"at bound", maxResponse, true}, {"over bound", maxResponse + 1, false}} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				// {"spiffeId":"xxx…"} padded to exactly tc.size bytes.
				pad := tc.size - len(`{"spiffeId":""}`)
				w.Write([]byte(`{"spiffeId":"` + strings.Repeat("x", pad) + `"}`))
			}))
			defer srv.Close()
			var out struct{ SpiffeID string }
			err := (&Enroller{APIURL: srv.URL}).post(t.Context(), "/x", nil, false, &out)
			if (err == nil) != tc.ok {
				t.Fatalf("size %d: err %v, want ok=%v", tc.size, err, tc.ok)
			}
		})
	}
}
