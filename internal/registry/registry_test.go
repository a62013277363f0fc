package registry

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trellis-mesh/trellis/internal/ir"
	"github.com/trellis-mesh/trellis/internal/store/bolt"
)

type fakeClock struct{ ns atomic.Int64 }

func (c *fakeClock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

func setup(t *testing.T) (*Registry, *fakeClock, context.Context) {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "r.db"), bolt.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	clk := &fakeClock{}
	clk.ns.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	// A long expiry interval: tests sweep explicitly with ExpireOnce.
	r := New(st, Options{TTL: 30 * time.Second, ExpiryInterval: time.Hour, Now: clk.now})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done; st.Close() })
	return r, clk, ctx
}

// synced waits until the index has caught up with the store.
func synced(t *testing.T, r *Registry, ctx context.Context) {
	t.Helper()
	rev, err := r.st.Revision(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := r.WaitRevision(c, rev); err != nil {
		t.Fatal(err)
	}
}

func service(t *testing.T, r *Registry, ctx context.Context) Service {
	t.Helper()
	n, err := r.CreateNamespace(ctx, Namespace{Name: "apps.local", Type: NamespaceHTTP})
	if err != nil {
		t.Fatal(err)
	}
	s, err := r.CreateService(ctx, Service{Name: "color", NamespaceID: n.ID})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func attrs(ip, port, version string) map[string]string {
	m := map[string]string{AttrIPv4: ip, "version": version}
	if port != "" {
		m[AttrPort] = port
	}
	return m
}

func TestRegisterLookupDeregister(t *testing.T) {
	r, _, ctx := setup(t)
	s := service(t, r, ctx)
	for id, a := range map[string]map[string]string{
		"b2": attrs("10.0.0.2", "8080", "blue"),
		"b1": attrs("10.0.0.1", "8080", "blue"),
		"g1": attrs("10.0.0.3", "", "green"),
		"v6": {AttrIPv6: "fd00::1", AttrPort: "9", "version": "blue", AttrInitHealth: Unhealthy},
	} {
		if _, err := r.RegisterInstance(ctx, s.ID, id, a, ""); err != nil {
			t.Fatal(err)
		}
	}
	synced(t, r, ctx)
	got := r.Lookup("apps.local", "color", map[string]string{"version": "blue"})
	want := []ir.Endpoint{{Address: "10.0.0.1", Port: 8080}, {Address: "10.0.0.2", Port: 8080}, {Address: "fd00::1", Port: 9, Unhealthy: true}}
	if !slices.Equal(got, want) {
		t.Fatalf("blue = %v, want %v", got, want)
	}
	if got := r.Lookup("apps.local", "color", map[string]string{"version": "green"}); !slices.Equal(got, []ir.Endpoint{{Address: "10.0.0.3"}}) {
		t.Fatalf("green = %v", got)
	}
	if got := r.Lookup("apps.local", "color", nil); len(got) != 4 {
		t.Fatalf("all = %v", got)
	}
	if got := r.Lookup("other", "color", nil); got != nil {
		t.Fatalf("unknown namespace = %v", got)
	}
	if err := r.DeregisterInstance(ctx, s.ID, "b1"); err != nil {
		t.Fatal(err)
	}
	if err := r.DeregisterInstance(ctx, s.ID, "b1"); !errors.Is(err, ErrInstanceNotFound) {
		t.Fatalf("second deregister: %v", err)
	}
	synced(t, r, ctx)
	if got := r.Lookup("apps.local", "color", map[string]string{"version": "blue"}); len(got) != 2 || got[0].Address != "10.0.0.2" {
		t.Fatalf("after deregister = %v", got)
	}
	if err := r.DeleteService(ctx, s.ID); !errors.Is(err, ErrResourceInUse) {
		t.Fatalf("delete service with instances: %v", err)
	}
	if _, err := r.DeleteNamespace(ctx, s.NamespaceID); !errors.Is(err, ErrResourceInUse) {
		t.Fatalf("delete namespace with services: %v", err)
	}
}

func TestExpiry(t *testing.T) {
	r, clk, ctx := setup(t)
	s := service(t, r, ctx)
	r.RegisterInstance(ctx, s.ID, "a", leased(attrs("10.0.0.1", "80", "blue"), "60"), "")
	clk.advance(20 * time.Second)
	r.RegisterInstance(ctx, s.ID, "b", leased(attrs("10.0.0.2", "80", "blue"), "60"), "")
	synced(t, r, ctx)
	clk.advance(15 * time.Second) // a: 35 s old, b: 15 s old
	if err := r.SetHealth(ctx, s.ID, "b", Unhealthy); err != nil {
		t.Fatal(err)
	}
	synced(t, r, ctx)
	n, err := r.ExpireOnce(ctx)
	if err != nil || n != 1 {
		t.Fatalf("ExpireOnce = %d, %v; want 1", n, err)
	}
	synced(t, r, ctx)
	if got := r.Lookup("apps.local", "color", nil); !slices.Equal(got, []ir.Endpoint{{Address: "10.0.0.2", Port: 80, Unhealthy: true}}) {
		t.Fatalf("after expiry = %v", got)
	}
	clk.advance(29 * time.Second) // the health update was b's heartbeat
	if n, _ := r.ExpireOnce(ctx); n != 0 {
		t.Fatalf("b expired %v after its last heartbeat", 29*time.Second)
	}
	clk.advance(time.Second)
	if n, _ := r.ExpireOnce(ctx); n != 1 {
		t.Fatal("b not expired after its TTL")
	}
}

// TestHeartbeatBeatsExpiry: a heartbeat written after the sweeper read
// the index makes the sweeper's guarded delete fail.
func TestHeartbeatBeatsExpiry(t *testing.T) {
	r, clk, ctx := setup(t)
	s := service(t, r, ctx)
	r.RegisterInstance(ctx, s.ID, "a", leased(attrs("10.0.0.1", "80", "blue"), "30"), "")
	synced(t, r, ctx)
	clk.advance(time.Minute)
	// Freeze the index the sweeper will see, then heartbeat.
	r.mu.Lock()
	stale := r.idx
	r.mu.Unlock()
	if _, err := r.RegisterInstance(ctx, s.ID, "a", leased(attrs("10.0.0.1", "80", "blue"), "30"), ""); err != nil {
		t.Fatal(err)
	}
	synced(t, r, ctx)
	r.mu.Lock()
	fresh := r.idx
	r.idx = stale
	r.mu.Unlock()
	n, err := r.ExpireOnce(ctx)
	r.mu.Lock()
	r.idx = fresh
	r.mu.Unlock()
	if err != nil || n != 0 {
		t.Fatalf("stale sweep deleted %d (%v); the heartbeat must win", n, err)
	}
	if _, err := r.GetInstance(ctx, s.ID, "a"); err != nil {
		t.Fatal(err)
	}

	// And under real concurrency: heartbeats racing sweeps never lose an
	// instance that heartbeats after each advance of the clock.
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			r.ExpireOnce(ctx)
		}
	}()
	for range 50 {
		if _, err := r.RegisterInstance(ctx, s.ID, "a", leased(attrs("10.0.0.1", "80", "blue"), "30"), ""); err != nil {
			t.Fatal(err)
		}
		if _, err := r.GetInstance(ctx, s.ID, "a"); err != nil {
			t.Fatalf("instance lost right after its heartbeat: %v", err)
		}
	}
	close(stop)
	wg.Wait()
}

func TestChangesFeed(t *testing.T) {
	r, _, ctx := setup(t)
	s := service(t, r, ctx)
	c, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	r.Next(c) // drain the initial load/namespace/service notifications
	r.RegisterInstance(ctx, s.ID, "a", attrs("10.0.0.1", "80", "blue"), "")
	names, err := r.Next(c)
	if err != nil || !slices.Equal(names, []ServiceName{{"apps.local", "color"}}) {
		t.Fatalf("Next = %v, %v", names, err)
	}
	// A plain heartbeat changes no endpoint: no notification.
	r.RegisterInstance(ctx, s.ID, "a", attrs("10.0.0.1", "80", "blue"), "")
	short, cancel2 := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel2()
	if names, err := r.Next(short); err == nil {
		t.Fatalf("heartbeat notified %v", names)
	}
}

func TestNamespaceAndServiceRules(t *testing.T) {
	r, _, ctx := setup(t)
	n, err := r.CreateNamespace(ctx, Namespace{Name: "x", Type: NamespaceHTTP, CreatorRequestID: "req-1"})
	if err != nil {
		t.Fatal(err)
	}
	if again, err := r.CreateNamespace(ctx, Namespace{Name: "x", Type: NamespaceHTTP, CreatorRequestID: "req-1"}); err != nil || again.ID != n.ID {
		t.Fatalf("idempotent retry = %v, %v", again, err)
	}
	if _, err := r.CreateNamespace(ctx, Namespace{Name: "y", Type: NamespaceHTTP, CreatorRequestID: "req-1"}); !errors.Is(err, ErrDuplicateRequest) {
		t.Fatalf("reused request id: %v", err)
	}
	if _, err := r.CreateNamespace(ctx, Namespace{Name: "x", Type: NamespaceHTTP}); !errors.Is(err, ErrNamespaceExists) {
		t.Fatalf("duplicate name: %v", err)
	}
	if _, err := r.CreateService(ctx, Service{Name: "s", NamespaceID: "ns-missing"}); !errors.Is(err, ErrNamespaceNotFound) {
		t.Fatalf("service in missing namespace: %v", err)
	}
	s, _ := r.CreateService(ctx, Service{Name: "s", NamespaceID: n.ID})
	if _, err := r.CreateService(ctx, Service{Name: "s", NamespaceID: n.ID}); !errors.Is(err, ErrServiceExists) {
		t.Fatalf("duplicate service: %v", err)
	}
	if _, err := r.RegisterInstance(ctx, "srv-missing", "i", nil, ""); !errors.Is(err, ErrServiceNotFound) {
		t.Fatalf("register in missing service: %v", err)
	}
	if err := r.DeleteService(ctx, s.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := r.DeleteNamespace(ctx, n.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := r.GetNamespace(ctx, n.ID); !errors.Is(err, ErrNamespaceNotFound) {
		t.Fatalf("deleted namespace: %v", err)
	}
}
