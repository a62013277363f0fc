package irgen

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/trellis-mesh/trellis/internal/ir"
)

// httpManagers lists every HTTP manager of a proxy.
func httpManagers(p *ir.Proxy) []*ir.HTTPManager {
	var out []*ir.HTTPManager
	for i := range p.Listeners {
		for j := range p.Listeners[i].FilterChains {
			if h := p.Listeners[i].FilterChains[j].HTTP; h != nil {
				out = append(out, h)
			}
		}
	}
	return out
}

// TestTracingOption: with Options.Tracing every HTTP manager of every
// golden case (sidecars and gateways, both shapes) carries Tracing, and
// without it none does.
func TestTracingOption(t *testing.T) {
	ins, _ := filepath.Glob("testdata/*.in.yaml")
	for _, in := range ins {
		t.Run(strings.TrimSuffix(filepath.Base(in), ".in.yaml"), func(t *testing.T) {
			tc := loadCase(t, in)
			snap := buildSnapshot(t, tc.Resources, false)
			for _, tracing := range []bool{false, true} {
				opts := tc.Options
				opts.Tracing = tracing
				p, err := Proxy(snap, tc.Node, opts, fakeEndpoints(tc.Endpoints))
				if err != nil {
					t.Fatal(err)
				}
				for _, h := range httpManagers(p) {
					if h.Tracing != tracing {
						t.Errorf("Tracing %v: manager %s/%s has %v", tracing, h.StatPrefix, h.RouteConfig, h.Tracing)
					}
				}
			}
		})
	}
}
