package xdsgen

import (
	"testing"

	"github.com/trellis-mesh/trellis/internal/ir"
)

// TestVirtualHostStatsName: a StatsName becomes one catch-all virtual
// cluster of that name (valid for Envoy's proto rules); none without it.
func TestVirtualHostStatsName(t *testing.T) {
	tests := []struct {
		name, statsName string
		want            int
	}{
		{"egress service host", "color.local", 1},
		{"no stats name", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vh := &ir.VirtualHost{Name: "color.local", Domains: []string{"color.local"}, StatsName: tt.statsName}
			v, err := NewMemo().buildVirtualHost(vh)
			if err != nil {
				t.Fatal(err)
			}
			vcs := v.GetVirtualClusters()
			if len(vcs) != tt.want {
				t.Fatalf("virtual clusters %v, want %d", vcs, tt.want)
			}
			if tt.want == 1 && (vcs[0].GetName() != tt.statsName || !vcs[0].GetHeaders()[0].GetPresentMatch() ||
				vcs[0].GetHeaders()[0].GetName() != ":authority") {
				t.Errorf("virtual cluster %v, want %q matching :authority present", vcs[0], tt.statsName)
			}
		})
	}
}
