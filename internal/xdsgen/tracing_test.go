package xdsgen

import (
	"testing"

	"github.com/trellis-mesh/trellis/internal/ir"
)

// TestHCMTracing: a manager marked Tracing carries an empty tracing block
// (the bootstrap's tracer applies); others carry none.
func TestHCMTracing(t *testing.T) {
	for _, tracing := range []bool{false, true} {
		m, err := buildHCM(&ir.HTTPManager{StatPrefix: "ingress", RouteConfig: "rds", Protocol: ir.HTTP, Tracing: tracing})
		if err != nil {
			t.Fatal(err)
		}
		if got := m.GetTracing() != nil; got != tracing {
			t.Errorf("Tracing %v: tracing block present = %v", tracing, got)
		}
		if tracing && m.GetTracing().GetProvider() != nil {
			t.Errorf("tracing block names a provider: %v", m.GetTracing())
		}
		if err := m.ValidateAll(); err != nil {
			t.Error(err)
		}
	}
}
