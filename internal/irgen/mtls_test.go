package irgen

import (
	"testing"

	"github.com/trellis-mesh/trellis/internal/apis/appmesh"
	"github.com/trellis-mesh/trellis/internal/meshview"
)

// TestAutoMTLSSides: each value of the trellis.io/mtls tag sets what a
// listener without a tls block accepts and whether a caller originates
// mTLS towards it. Each step of the migration (off -> ACCEPT ->
// PERMISSIVE -> STRICT) changes one of the two only; unknown values mean
// off.
func TestAutoMTLSSides(t *testing.T) {
	tests := []struct {
		tag          string // "-" for no tag
		listenerMode string // "" plaintext, PERMISSIVE both, STRICT mTLS only
		caller       bool
	}{
		{tag: "-", listenerMode: "", caller: false},
		{tag: "", listenerMode: "", caller: false},
		{tag: "DISABLED", listenerMode: "", caller: false},
		{tag: "ACCEPT", listenerMode: appmesh.TLSModePermissive, caller: false},
		{tag: " accept ", listenerMode: appmesh.TLSModePermissive, caller: false},
		{tag: "PERMISSIVE", listenerMode: appmesh.TLSModePermissive, caller: true},
		{tag: "Permissive", listenerMode: appmesh.TLSModePermissive, caller: true},
		{tag: "STRICT", listenerMode: appmesh.TLSModeStrict, caller: true},
	}
	for _, tt := range tests {
		t.Run(tt.tag, func(t *testing.T) {
			res := &appmesh.Resource{Name: "demo"}
			if tt.tag != "-" {
				res.Tags = []appmesh.TagRef{{Key: MTLSTag, Value: tt.tag}}
			}
			tr := &translator{mesh: &meshview.Mesh{Name: "demo", Resource: res},
				node: &meshview.VirtualNode{Resource: &appmesh.Resource{Name: "a"}}}
			plain := &appmesh.Listener{PortMapping: &appmesh.PortMapping{Port: 8080, Protocol: "http"}}
			mode := ""
			if tr.autoMTLSListener(plain) {
				_, mode = tr.autoListenerTLS("http")
			}
			if mode != tt.listenerMode {
				t.Errorf("listener mode %q, want %q", mode, tt.listenerMode)
			}
			if got := tr.autoMTLSCaller(plain); got != tt.caller {
				t.Errorf("caller originates mTLS: %v, want %v", got, tt.caller)
			}
			own := &appmesh.Listener{PortMapping: plain.PortMapping, Tls: &appmesh.ListenerTls{Mode: appmesh.TLSModeDisabled}}
			if tr.autoMTLSListener(own) || tr.autoMTLSCaller(own) {
				t.Errorf("a listener with its own tls block got auto-mTLS")
			}
		})
	}
}
