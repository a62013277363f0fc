package manager

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"

	"github.com/trellis-mesh/trellis/internal/apis/appmesh"
	"github.com/trellis-mesh/trellis/internal/store/bolt"
)

// These tests pin the manager's own semantics; internal/apiserver tests
// the same through the official SDK.

func newManager(t *testing.T) (*Manager, context.Context) {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "m.db"), bolt.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return New(st, Options{Region: "us-west-2", AccountID: "123456789012", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}), context.Background()
}

func wantCode(t *testing.T, what string, err error, code Code) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) || e.Code != code {
		t.Fatalf("%s: got %v, want %s", what, err, code)
	}
}

func nodeID(mesh, name string) appmesh.Identity {
	return appmesh.Identity{Kind: appmesh.KindVirtualNode, Mesh: mesh, Name: name}
}

func mustCreate(t *testing.T, m *Manager, ctx context.Context, in CreateInput) *appmesh.Resource {
	t.Helper()
	r, err := m.Create(ctx, in)
	if err != nil {
		t.Fatalf("create %v: %v", in.ID, err)
	}
	return r
}

func egress(typ string) *appmesh.MeshSpec {
	return &appmesh.MeshSpec{EgressFilter: &appmesh.EgressFilter{Type: typ}}
}

// TestClientToken: a retried Create or Update with the same token and
// request returns the first result; the same token with another request,
// or a taken name, is a ConflictException.
func TestClientToken(t *testing.T) {
	m, ctx := newManager(t)
	first := mustCreate(t, m, ctx, CreateInput{ID: meshID("a"), Spec: egress("ALLOW_ALL"), ClientToken: "t1"})
	again := mustCreate(t, m, ctx, CreateInput{ID: meshID("a"), Spec: egress("ALLOW_ALL"), ClientToken: "t1"})
	if again.Metadata.Uid != first.Metadata.Uid || again.Metadata.Version != 1 {
		t.Fatalf("retried create = %+v, first %+v", again.Metadata, first.Metadata)
	}
	_, err := m.Create(ctx, CreateInput{ID: meshID("a"), Spec: egress("DROP_ALL"), ClientToken: "t1"})
	wantCode(t, "same token, other request", err, CodeConflict)
	_, err = m.Create(ctx, CreateInput{ID: meshID("a"), Spec: egress("ALLOW_ALL")})
	wantCode(t, "taken name without a token", err, CodeConflict)

	for range 2 {
		up, err := m.Update(ctx, UpdateInput{ID: meshID("a"), Spec: egress("DROP_ALL"), ClientToken: "u1"})
		if err != nil || up.Metadata.Version != 2 {
			t.Fatalf("update (retried) = %v, %v; want version 2", up, err)
		}
	}
	up, err := m.Update(ctx, UpdateInput{ID: meshID("a"), Spec: egress("ALLOW_ALL")})
	if err != nil || up.Metadata.Version != 3 {
		t.Fatalf("update without token = %v, %v; want version 3", up, err)
	}
	_, err = m.Update(ctx, UpdateInput{ID: meshID("nope"), Spec: egress("ALLOW_ALL")})
	wantCode(t, "update of a missing mesh", err, CodeNotFound)
}

// TestConcurrentUpdates: concurrent Updates of one resource are all
// applied, one version each (optimistic concurrency loses none).
func TestConcurrentUpdates(t *testing.T) {
	m, ctx := newManager(t)
	mustCreate(t, m, ctx, CreateInput{ID: meshID("a")})
	const writers, each = 6, 5
	var wg sync.WaitGroup
	var mu sync.Mutex
	versions := map[int64]bool{}
	ok := 0
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				typ := []string{"ALLOW_ALL", "DROP_ALL"}[(w+i)%2]
				r, err := m.Update(ctx, UpdateInput{ID: meshID("a"), Spec: egress(typ)})
				if err != nil {
					continue // TooManyRequests under heavy contention is allowed
				}
				mu.Lock()
				if versions[r.Metadata.Version] {
					t.Errorf("version %d returned twice", r.Metadata.Version)
				}
				versions[r.Metadata.Version] = true
				ok++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	got, err := m.Describe(ctx, meshID("a"))
	if err != nil {
		t.Fatal(err)
	}
	if ok == 0 || got.Metadata.Version != int64(1+ok) {
		t.Fatalf("%d updates succeeded, final version %d; want %d", ok, got.Metadata.Version, 1+ok)
	}
}

// TestReferencesAndDeleteProtection: a route's targets must exist; a
// referenced node, a router with routes or a provider role, and a
// non-empty mesh cannot be deleted; in dependency order all can.
func TestReferencesAndDeleteProtection(t *testing.T) {
	m, ctx := newManager(t)
	mustCreate(t, m, ctx, CreateInput{ID: meshID("m")})
	router := appmesh.Identity{Kind: appmesh.KindVirtualRouter, Mesh: "m", Name: "r"}
	mustCreate(t, m, ctx, CreateInput{ID: router, Spec: &appmesh.VirtualRouterSpec{
		Listeners: []appmesh.VirtualRouterListener{{PortMapping: &appmesh.PortMapping{Port: 8080, Protocol: "http"}}}}})
	route := appmesh.Identity{Kind: appmesh.KindRoute, Mesh: "m", Parent: "r", Name: "rt"}
	routeSpec := &appmesh.RouteSpec{HttpRoute: &appmesh.HttpRoute{Match: &appmesh.HttpRouteMatch{Prefix: ptr("/")},
		Action: &appmesh.HttpRouteAction{WeightedTargets: []appmesh.WeightedTarget{{VirtualNode: "blue", Weight: 1}}}}}
	_, err := m.Create(ctx, CreateInput{ID: route, Spec: routeSpec})
	wantCode(t, "route to a missing node", err, CodeNotFound)
	mustCreate(t, m, ctx, CreateInput{ID: nodeID("m", "blue"), Spec: &appmesh.VirtualNodeSpec{}})
	mustCreate(t, m, ctx, CreateInput{ID: route, Spec: routeSpec})
	svc := appmesh.Identity{Kind: appmesh.KindVirtualService, Mesh: "m", Name: "color.local"}
	mustCreate(t, m, ctx, CreateInput{ID: svc, Spec: &appmesh.VirtualServiceSpec{Provider: &appmesh.VirtualServiceProvider{
		VirtualRouter: &appmesh.VirtualRouterServiceProvider{VirtualRouterName: "r"}}}})

	for _, tc := range []struct {
		what string
		id   appmesh.Identity
	}{
		{"node referenced by a route", nodeID("m", "blue")},
		{"router with routes that provides a service", router},
		{"mesh with resources", meshID("m")},
	} {
		_, err := m.Delete(ctx, tc.id)
		wantCode(t, "delete "+tc.what, err, CodeInUse)
	}
	for _, id := range []appmesh.Identity{svc, route, router, nodeID("m", "blue"), meshID("m")} {
		if _, err := m.Delete(ctx, id); err != nil {
			t.Fatalf("delete %v in order: %v", id, err)
		}
	}
	_, err = m.Delete(ctx, meshID("m"))
	wantCode(t, "delete twice", err, CodeNotFound)
}

// TestTagLimits: 50 tags fit; a request listing 51 is a BadRequest; a
// TagResource that would pass 50 is TooManyTags and applies nothing;
// tagging leaves version alone.
func TestTagLimits(t *testing.T) {
	m, ctx := newManager(t)
	tags := func(prefix string, n int) []appmesh.TagRef {
		var out []appmesh.TagRef
		for i := range n {
			out = append(out, appmesh.TagRef{Key: fmt.Sprintf("%s%02d", prefix, i), Value: "v"})
		}
		return out
	}
	_, err := m.Create(ctx, CreateInput{ID: meshID("big"), Tags: tags("k", MaxTags+1)})
	wantCode(t, "create with 51 tags", err, CodeBadRequest)
	r := mustCreate(t, m, ctx, CreateInput{ID: meshID("a"), Tags: tags("k", MaxTags-1)})
	arn := r.Metadata.Arn
	if err := m.TagResource(ctx, arn, tags("k", 3)); err != nil { // overwrites: still 49
		t.Fatal(err)
	}
	if err := m.TagResource(ctx, arn, tags("n", 1)); err != nil { // 50: at the bound
		t.Fatal(err)
	}
	wantCode(t, "51st tag", m.TagResource(ctx, arn, []appmesh.TagRef{{Key: "x", Value: "1"}, {Key: "k00", Value: "changed"}}), CodeTooManyTags)
	wantCode(t, "one request with 51 tags", m.TagResource(ctx, arn, tags("z", MaxTags+1)), CodeBadRequest)
	var all []appmesh.TagRef
	for token := ""; ; {
		p, err := m.ListTags(ctx, arn, 20, token)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, p.Tags...)
		if token = p.NextToken; token == "" {
			break
		}
	}
	if len(all) != MaxTags || all[0].Value != "v" {
		t.Fatalf("tags = %d, first %+v (a refused TagResource must apply nothing)", len(all), all[0])
	}
	if err := m.UntagResource(ctx, arn, []string{"k00", "absent"}); err != nil {
		t.Fatal(err)
	}
	got, err := m.Describe(ctx, meshID("a"))
	if err != nil || got.Metadata.Version != 1 || len(got.Tags) != MaxTags-1 {
		t.Fatalf("after tagging: %v, version %d, %d tags; want version 1, 49 tags", err, got.Metadata.Version, len(got.Tags))
	}
	wantCode(t, "tag an ARN of another account", m.TagResource(ctx, "arn:aws:appmesh:us-west-2:999999999999:mesh/a", tags("k", 1)), CodeNotFound)
	wantCode(t, "tag a malformed ARN", m.TagResource(ctx, "mesh/a", tags("k", 1)), CodeBadRequest)
}

func ptr[T any](v T) *T { return &v }
