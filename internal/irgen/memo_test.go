package irgen

import (
	"context"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/trellis-mesh/trellis/internal/manager"
	"github.com/trellis-mesh/trellis/internal/meshview"
	"github.com/trellis-mesh/trellis/internal/store/bolt"
)

// liveMesh is a store, its manager and a mesh view following it, for tests
// that change a mesh and look at the snapshots that follow.
type liveMesh struct {
	t    *testing.T
	ctx  context.Context
	st   *bolt.Store
	mgr  *manager.Manager
	view *meshview.View
}

func newLiveMesh(t *testing.T, rs []testResource) *liveMesh {
	t.Helper()
	quiet := slog.New(slog.DiscardHandler)
	st, err := bolt.Open(filepath.Join(t.TempDir(), "store.db"), bolt.Options{NoSync: true, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	l := &liveMesh{t: t, ctx: ctx, st: st, mgr: manager.New(st, manager.Options{Region: "us-west-2", AccountID: "123456789012", Logger: quiet}),
		view: meshview.New(st, quiet)}
	done := make(chan struct{})
	go func() { defer close(done); _ = l.view.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	for _, in := range creationOrder(t, rs, false) {
		if _, err := l.mgr.Create(ctx, in); err != nil {
			t.Fatalf("create %s %s: %v", in.ID.Kind, in.ID.Name, err)
		}
	}
	return l
}

// snapshot waits for the view to catch up with the store.
func (l *liveMesh) snapshot() *meshview.Snapshot {
	l.t.Helper()
	ctx, cancel := context.WithTimeout(l.ctx, 10*time.Second)
	defer cancel()
	rev, err := l.st.Revision(ctx)
	if err != nil {
		l.t.Fatal(err)
	}
	if err := l.view.WaitRevision(ctx, rev); err != nil {
		l.t.Fatal(err)
	}
	return l.view.Current()
}

func (l *liveMesh) update(kind, parent, name, spec string) {
	l.t.Helper()
	in := createInput(l.t, testResource{Kind: kind, Mesh: "demo", Parent: parent, Name: name, Spec: json.RawMessage(spec)})
	if _, err := l.mgr.Update(l.ctx, manager.UpdateInput{ID: in.ID, Spec: in.Spec}); err != nil {
		l.t.Fatalf("update %s %s: %v", kind, name, err)
	}
}

func (l *liveMesh) create(kind, name, spec string) {
	l.t.Helper()
	if _, err := l.mgr.Create(l.ctx, createInput(l.t, testResource{Kind: kind, Mesh: "demo", Name: name, Spec: json.RawMessage(spec)})); err != nil {
		l.t.Fatalf("create %s %s: %v", kind, name, err)
	}
}

func (l *liveMesh) delete(kind, name string) {
	l.t.Helper()
	id := createInput(l.t, testResource{Kind: kind, Mesh: "demo", Name: name}).ID
	if _, err := l.mgr.Delete(l.ctx, id); err != nil {
		l.t.Fatalf("delete %s %s: %v", kind, name, err)
	}
}

// TestMemoMatchesFresh edits, one kind of object after another, a mesh whose
// proxies are translated through one Memo across the snapshots, and checks
// after every edit that each proxy's configuration is exactly a fresh
// translation's: a part handed over from an earlier snapshot must never be
// stale. The edits reach every kind of object a part reads: a router's
// route, a target node, a virtual service created where a backend named it
// before it existed, a service's provider, the mesh spec, a deleted
// service, a node's own listeners.
func TestMemoMatchesFresh(t *testing.T) {
	tc := loadCase(t, "testdata/backend-router-weighted.in.yaml")
	rs := append(tc.Resources,
		testResource{Kind: "VirtualNode", Mesh: "demo", Name: "twin", Spec: tc.Resources[0].Spec},
		testResource{Kind: "VirtualNode", Mesh: "demo", Name: "solo", Spec: json.RawMessage(
			`{"backends":[{"virtualService":{"virtualServiceName":"color.demo.local"}},{"virtualService":{"virtualServiceName":"soon.demo.local"}}]}`)},
		testResource{Kind: "VirtualNode", Mesh: "demo", Name: "listening", Spec: json.RawMessage(
			`{"listeners":[{"portMapping":{"port":9000,"protocol":"http"}}],"serviceDiscovery":{"dns":{"hostname":"listening.demo.local"}},"backends":[{"virtualService":{"virtualServiceName":"empty.demo.local"}}]}`)},
	)
	l := newLiveMesh(t, rs)
	memo := NewMemo()
	nodes := []string{"front", "twin", "solo", "listening", "blue", "green"}
	handedOver := 0
	check := func(step string) {
		t.Helper()
		snap := l.snapshot()
		c := NewCache(snap, nil, memo)
		for _, name := range nodes {
			ref := NodeRef{Mesh: "demo", Kind: KindVirtualNode, Name: name}
			parts, err := c.Parts(ref, tc.Options)
			if err != nil {
				t.Fatal(err)
			}
			fresh, err := Proxy(snap, ref, tc.Options, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := Merge(parts...); !reflect.DeepEqual(got, fresh) {
				t.Errorf("after %s: %s differs from a fresh translation", step, name)
			}
			if again := NewCache(snap, nil, memo); len(parts) == 2 {
				p2, _ := again.Parts(ref, tc.Options)
				if p2[0] == parts[0] && p2[1] == parts[1] {
					handedOver++
				}
			}
		}
	}
	check("creation")
	l.update("Route", "color", "split", `{"httpRoute":{"match":{"prefix":"/"},"action":{"weightedTargets":[{"virtualNode":"blue","weight":50},{"virtualNode":"green","weight":50}]}}}`)
	check("a route edit")
	l.update("VirtualNode", "", "green", `{"listeners":[{"portMapping":{"port":8080,"protocol":"http"}}],"serviceDiscovery":{"dns":{"hostname":"green2.demo.local"}}}`)
	check("a target node edit")
	l.create("VirtualService", "soon.demo.local", `{"provider":{"virtualNode":{"virtualNodeName":"green"}}}`)
	check("a backend's service created")
	l.update("VirtualService", "", "color.demo.local", `{"provider":{"virtualNode":{"virtualNodeName":"blue"}}}`)
	check("a provider change")
	l.update("Mesh", "", "demo", `{"egressFilter":{"type":"ALLOW_ALL"}}`)
	check("a mesh spec edit")
	l.delete("VirtualService", "soon.demo.local")
	check("a backend's service deleted")
	l.update("VirtualNode", "", "front", `{"listeners":[{"portMapping":{"port":7000,"protocol":"http"}}],"serviceDiscovery":{"dns":{"hostname":"front.demo.local"}},"backends":[{"virtualService":{"virtualServiceName":"color.demo.local"}}]}`)
	check("a node's own edit")
	if handedOver == 0 {
		t.Error("no part was ever handed over from the Memo")
	}
}

// TestMemoAtBound: a Memo bounded at one entry per table holds no more,
// and every proxy translated through it is exactly a fresh translation,
// whatever was evicted.
func TestMemoAtBound(t *testing.T) {
	tc := loadCase(t, "testdata/backend-router-weighted.in.yaml")
	rs := append(tc.Resources, testResource{Kind: "VirtualNode", Mesh: "demo", Name: "twin", Spec: tc.Resources[0].Spec})
	snap := newLiveMesh(t, rs).snapshot()
	memo := newMemoSized(1)
	for range 2 {
		c := NewCache(snap, nil, memo)
		for _, name := range []string{"front", "twin", "blue", "green"} {
			ref := NodeRef{Mesh: "demo", Kind: KindVirtualNode, Name: name}
			parts, err := c.Parts(ref, tc.Options)
			if err != nil {
				t.Fatal(err)
			}
			fresh, err := Proxy(snap, ref, tc.Options, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(Merge(parts...), fresh) {
				t.Errorf("%s differs from a fresh translation", name)
			}
			if n := memo.Len(); n > 3 {
				t.Fatalf("memo of bound 1 per table holds %d entries", n)
			}
		}
	}
}
