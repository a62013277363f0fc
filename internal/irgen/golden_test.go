package irgen

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trellis-mesh/trellis/internal/golden"

	"sigs.k8s.io/yaml"

	"github.com/trellis-mesh/trellis/internal/apis/appmesh"
	"github.com/trellis-mesh/trellis/internal/ir"
	"github.com/trellis-mesh/trellis/internal/manager"
	"github.com/trellis-mesh/trellis/internal/meshview"
	"github.com/trellis-mesh/trellis/internal/store/bolt"
)

var update = flag.Bool("update", false, "rewrite testdata/*.out.yaml and delete stale ones")

// goldenCase is one testdata/<case>.in.yaml.
type goldenCase struct {
	Node      NodeRef        `json:"node"`
	Options   Options        `json:"options"`
	Endpoints []fakeService  `json:"endpoints"`
	Resources []testResource `json:"resources"`
}

// testResource is an App Mesh resource; spec is the API's JSON spec.
type testResource struct {
	Kind   string           `json:"kind"`
	Mesh   string           `json:"mesh"`
	Parent string           `json:"parent"`
	Name   string           `json:"name"`
	Spec   json.RawMessage  `json:"spec"`
	Tags   []appmesh.TagRef `json:"tags"`
}

// fakeService is a registry service: instances sharing attributes.
type fakeService struct {
	Namespace  string            `json:"namespace"`
	Service    string            `json:"service"`
	Attributes map[string]string `json:"attributes"`
	Endpoints  []ir.Endpoint     `json:"endpoints"`
}

// fakeEndpoints implements Endpoints over fakeServices: an entry answers
// when its attributes include every requested pair.
type fakeEndpoints []fakeService

func (f fakeEndpoints) Lookup(namespace, service string, attrs map[string]string) []ir.Endpoint {
	var out []ir.Endpoint
	for _, s := range f {
		if s.Namespace != namespace || s.Service != service {
			continue
		}
		ok := true
		for k, v := range attrs {
			ok = ok && s.Attributes[k] == v
		}
		if ok {
			out = append(out, s.Endpoints...)
		}
	}
	return out
}

func TestGolden(t *testing.T) {
	ins, err := filepath.Glob("testdata/*.in.yaml")
	if err != nil || len(ins) == 0 {
		t.Fatalf("no golden inputs: %v", err)
	}
	produced := map[string]bool{}
	for _, in := range ins {
		name := strings.TrimSuffix(filepath.Base(in), ".in.yaml")
		out := filepath.Join("testdata", name+".out.yaml")
		produced[out] = true
		t.Run(name, func(t *testing.T) { checkGolden(t, in, out) })
	}
	outs, _ := filepath.Glob("testdata/*.out.yaml")
	for _, out := range outs {
		switch {
		case produced[out]:
		case *update:
			if err := os.Remove(out); err != nil {
				t.Error(err)
			}
		default:
			t.Errorf("%s has no input; run with -update to delete it", out)
		}
	}
}

func checkGolden(t *testing.T, in, out string) {
	tc := loadCase(t, in)
	p, err := Proxy(buildSnapshot(t, tc.Resources, false), tc.Node, tc.Options, fakeEndpoints(tc.Endpoints))
	if err != nil {
		t.Fatalf("Proxy: %v", err)
	}
	got, err := yaml.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, out, got, *update)
}

// TestDeterministic translates every case repeatedly, and from a second
// store whose resources were created in another order: the output must
// not depend on map iteration or store order.
func TestDeterministic(t *testing.T) {
	ins, _ := filepath.Glob("testdata/*.in.yaml")
	for _, in := range ins {
		t.Run(strings.TrimSuffix(filepath.Base(in), ".in.yaml"), func(t *testing.T) {
			tc := loadCase(t, in)
			eps := fakeEndpoints(tc.Endpoints)
			first, err := Proxy(buildSnapshot(t, tc.Resources, false), tc.Node, tc.Options, eps)
			if err != nil {
				t.Fatal(err)
			}
			snap := buildSnapshot(t, tc.Resources, true)
			for range 5 {
				again, err := Proxy(snap, tc.Node, tc.Options, eps)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(first, again) {
					t.Fatal("translation is not deterministic")
				}
			}
		})
	}
}

func loadCase(t *testing.T, path string) goldenCase {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var tc goldenCase
	if err := yaml.UnmarshalStrict(b, &tc); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return tc
}

// buildSnapshot writes the resources through the manager into a real bolt
// store (so they are valid App Mesh, references included) and returns the
// snapshot meshview builds from it. Resources are created in dependency
// order; meshes not listed are created with an empty spec. reverse creates
// resources of the same kind in reverse order.
func buildSnapshot(t *testing.T, rs []testResource, reverse bool) *meshview.Snapshot {
	t.Helper()
	quiet := slog.New(slog.DiscardHandler)
	st, err := bolt.Open(filepath.Join(t.TempDir(), "store.db"), bolt.Options{NoSync: true, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	mgr := manager.New(st, manager.Options{Region: "us-west-2", AccountID: "123456789012", Logger: quiet})
	for _, r := range creationOrder(t, rs, reverse) {
		if _, err := mgr.Create(ctx, r); err != nil {
			t.Fatalf("create %s %s: %v", r.ID.Kind, r.ID.Name, err)
		}
	}
	rev, err := st.Revision(ctx)
	if err != nil {
		t.Fatal(err)
	}
	vctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	v := meshview.New(st, quiet)
	go func() { defer close(done); _ = v.Run(vctx) }()
	t.Cleanup(func() { stop(); <-done })
	if err := v.WaitRevision(ctx, rev); err != nil {
		t.Fatalf("meshview did not reach revision %d: %v", rev, err)
	}
	return v.Current()
}

func creationOrder(t *testing.T, rs []testResource, reverse bool) []manager.CreateInput {
	t.Helper()
	byKind := map[appmesh.Kind][]manager.CreateInput{}
	meshes := map[string]bool{}
	for _, r := range rs {
		in := createInput(t, r)
		byKind[in.ID.Kind] = append(byKind[in.ID.Kind], in)
		meshes[in.ID.Mesh] = meshes[in.ID.Mesh] || in.ID.Kind == appmesh.KindMesh
	}
	for _, m := range slices.Sorted(maps.Keys(meshes)) {
		if !meshes[m] {
			byKind[appmesh.KindMesh] = append(byKind[appmesh.KindMesh],
				manager.CreateInput{ID: appmesh.Identity{Kind: appmesh.KindMesh, Mesh: m, Name: m}})
		}
	}
	var out []manager.CreateInput
	for _, k := range appmesh.Kinds {
		ins := byKind[k]
		if reverse {
			slices.Reverse(ins)
		}
		out = append(out, ins...)
	}
	return out
}

func createInput(t *testing.T, r testResource) manager.CreateInput {
	t.Helper()
	kind := appmesh.Kind(0)
	for _, k := range appmesh.Kinds {
		if k.String() == r.Kind {
			kind = k
		}
	}
	if kind == 0 {
		t.Fatalf("unknown kind %q", r.Kind)
	}
	id := appmesh.Identity{Kind: kind, Mesh: r.Mesh, Parent: r.Parent, Name: r.Name}
	if kind == appmesh.KindMesh {
		id.Mesh = r.Name
	}
	spec := kind.NewSpec()
	if len(r.Spec) > 0 {
		dec := json.NewDecoder(bytes.NewReader(r.Spec))
		dec.DisallowUnknownFields()
		if err := dec.Decode(spec); err != nil {
			t.Fatalf("%s %s spec: %v", r.Kind, r.Name, err)
		}
	}
	return manager.CreateInput{ID: id, Spec: spec, Tags: r.Tags}
}
