package validation

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/trellis-mesh/trellis/internal/apis/appmesh"
)

// fuzzKind picks a kind from the first byte of the fuzz input.
func fuzzKind(b byte) appmesh.Kind { return appmesh.Kinds[int(b)%len(appmesh.Kinds)] }

// FuzzSpec decodes arbitrary JSON into a kind's spec and validates it: no
// panics, well-formed violations, and the same result twice.
func FuzzSpec(f *testing.F) {
	seeds := []struct {
		kind appmesh.Kind
		spec any
	}{
		{appmesh.KindMesh, fullMesh()},
		{appmesh.KindVirtualNode, fullVirtualNode()},
		{appmesh.KindVirtualNode, fullVirtualNodeDNS()},
		{appmesh.KindVirtualRouter, fullVirtualRouter()},
		{appmesh.KindRoute, fullHTTPRoute()},
		{appmesh.KindRoute, fullGRPCRoute()},
		{appmesh.KindRoute, fullTCPRoute()},
		{appmesh.KindVirtualService, fullVirtualServiceRouter()},
		{appmesh.KindVirtualGateway, fullVirtualGateway()},
		{appmesh.KindGatewayRoute, fullGatewayHTTPRoute()},
		{appmesh.KindGatewayRoute, fullGatewayHTTP2Route()},
		{appmesh.KindGatewayRoute, fullGatewayGRPCRoute()},
	}
	for _, s := range seeds {
		b, err := json.Marshal(s.spec)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(append([]byte{byte(s.kind - 1)}, b...))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		kind := fuzzKind(data[0])
		spec := kind.NewSpec()
		_ = json.Unmarshal(data[1:], spec) // a partial decode is still a spec to validate
		err := Spec(kind, spec)
		checkFuzzResult(t, err)
		if again := Spec(kind, spec); !reflect.DeepEqual(err, again) {
			t.Fatalf("non-deterministic: %v vs %v", err, again)
		}
	})
}

func checkFuzzResult(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var ve *Error
	if !errors.As(err, &ve) || ve == nil || len(ve.Violations) == 0 {
		t.Fatalf("want *Error with violations, got %T %v", err, err)
	}
	for _, v := range ve.Violations {
		if !strings.HasPrefix(v.Field, "spec") || v.Rule == "" {
			t.Fatalf("malformed violation %q", v)
		}
	}
	_ = err.Error()
}

// TestSeedCorpusKinds keeps the checked-in seed files honest: each must decode
// into its kind and be valid, except the seeds named *-invalid.
func TestSeedCorpusKinds(t *testing.T) {
	for _, tc := range seedCorpus {
		kind := fuzzKind(tc.data[0])
		spec := kind.NewSpec()
		if err := json.Unmarshal([]byte(tc.data[1:]), spec); err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		err := Spec(kind, spec)
		if invalid := strings.HasSuffix(tc.name, "-invalid"); invalid != (err != nil) {
			t.Errorf("%s (%s): invalid=%v, got %v", tc.name, kind, invalid, err)
		}
	}
}
