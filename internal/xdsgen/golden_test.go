package xdsgen

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trellis-mesh/trellis/internal/golden"

	"github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"sigs.k8s.io/yaml"

	"github.com/trellis-mesh/trellis/internal/ir"
)

var update = flag.Bool("update", false, "rewrite testdata/*.out.yaml from the current translation")

const inSuffix, outSuffix = ".in.yaml", ".out.yaml"

// goldenCases lists the case names of testdata/<case>.in.yaml.
func goldenCases(t *testing.T) []string {
	t.Helper()
	ins, err := filepath.Glob(filepath.Join("testdata", "*"+inSuffix))
	if err != nil {
		t.Fatal(err)
	}
	if len(ins) == 0 {
		t.Fatal("no golden cases in testdata")
	}
	var out []string
	for _, in := range ins {
		out = append(out, strings.TrimSuffix(filepath.Base(in), inSuffix))
	}
	return out
}

// loadProxy decodes a case's IR strictly, so a misspelt field fails the
// test instead of silently testing less.
func loadProxy(t *testing.T, name string) *ir.Proxy {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+inSuffix))
	if err != nil {
		t.Fatal(err)
	}
	p := &ir.Proxy{}
	if err := yaml.UnmarshalStrict(b, p); err != nil {
		t.Fatalf("decode %s: %v", name, err)
	}
	return p
}

// renderYAML renders all resources grouped by type, each through protojson
// (camelCase names, the form Envoy config dumps use), then as YAML.
func renderYAML(r *Resources) ([]byte, error) {
	doc := map[string][]json.RawMessage{}
	add := func(key string, m proto.Message) error {
		b, err := protojson.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(m)
		if err != nil {
			return err
		}
		doc[key] = append(doc[key], b)
		return nil
	}
	var errs []error
	for _, l := range r.Listeners {
		errs = append(errs, add("listeners", l))
	}
	for _, rc := range r.Routes {
		errs = append(errs, add("routes", rc))
	}
	for _, c := range r.Clusters {
		errs = append(errs, add("clusters", c))
	}
	for _, e := range r.Endpoints {
		errs = append(errs, add("endpoints", e))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	j, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	return yaml.JSONToYAML(j)
}

func TestGolden(t *testing.T) {
	for _, name := range goldenCases(t) {
		t.Run(name, func(t *testing.T) {
			r, err := Translate(loadProxy(t, name))
			if err != nil {
				t.Fatalf("Translate: %v", err)
			}
			got, err := renderYAML(r)
			if err != nil {
				t.Fatalf("render: %v", err)
			}
			path := filepath.Join("testdata", name+outSuffix)
			golden.Check(t, path, got, *update)
		})
	}
	pruneStaleGoldens(t)
}

// pruneStaleGoldens deletes outputs whose input is gone, so a removed or
// renamed case leaves nothing behind to review.
func pruneStaleGoldens(t *testing.T) {
	outs, err := filepath.Glob(filepath.Join("testdata", "*"+outSuffix))
	if err != nil {
		t.Fatal(err)
	}
	for _, out := range outs {
		in := strings.TrimSuffix(out, outSuffix) + inSuffix
		if _, err := os.Stat(in); errors.Is(err, os.ErrNotExist) {
			t.Logf("removing stale golden %s", out)
			if err := os.Remove(out); err != nil {
				t.Error(err)
			}
		}
	}
}

// TestGoldenSnapshotConsistent feeds every golden translation into a
// go-control-plane snapshot, which is what the xDS server will do.
func TestGoldenSnapshotConsistent(t *testing.T) {
	for _, name := range goldenCases(t) {
		t.Run(name, func(t *testing.T) {
			r, err := Translate(loadProxy(t, name))
			if err != nil {
				t.Fatalf("Translate: %v", err)
			}
			snap, err := cache.NewSnapshot("1", r.ByType())
			if err != nil {
				t.Fatalf("NewSnapshot: %v", err)
			}
			if err := snap.Consistent(); err != nil {
				t.Errorf("Consistent: %v", err)
			}
		})
	}
}

// TestDeterministic translates every case twice and requires equal protos
// and identical deterministic bytes, so snapshot versions derived from
// content only move when configuration does.
func TestDeterministic(t *testing.T) {
	opts := proto.MarshalOptions{Deterministic: true}
	for _, name := range goldenCases(t) {
		t.Run(name, func(t *testing.T) {
			a, err := Translate(loadProxy(t, name))
			if err != nil {
				t.Fatal(err)
			}
			b, err := Translate(loadProxy(t, name))
			if err != nil {
				t.Fatal(err)
			}
			ra, rb := a.ByType(), b.ByType()
			for typ := range ra {
				if len(ra[typ]) != len(rb[typ]) {
					t.Fatalf("%s: %d vs %d resources", typ, len(ra[typ]), len(rb[typ]))
				}
				for i := range ra[typ] {
					if !proto.Equal(ra[typ][i], rb[typ][i]) {
						t.Errorf("%s[%d]: protos differ", typ, i)
					}
					ba, err1 := opts.Marshal(ra[typ][i])
					bb, err2 := opts.Marshal(rb[typ][i])
					if err := errors.Join(err1, err2); err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(ba, bb) {
						t.Errorf("%s[%d]: marshalled bytes differ", typ, i)
					}
				}
			}
		})
	}
}
