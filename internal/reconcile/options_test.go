package reconcile

import (
	"reflect"
	"testing"

	"github.com/trellis-mesh/trellis/internal/irgen"
)

func TestOptionsFromMetadata(t *testing.T) {
	appMesh := irgen.Options{Interception: true, IngressPort: 15000, EgressPort: 15001, Tracing: true}
	cases := []struct {
		name    string
		md      map[string]any
		want    irgen.Options
		wantErr bool
	}{
		{"stock App Mesh sidecar", nil, appMesh, false},
		{"foreign metadata only", map[string]any{"aws.appmesh.platformInfo": map[string]any{"x": 1.0}}, appMesh, false},
		{"direct", map[string]any{"trellis": map[string]any{
			"interception": "none", "ingressPort": 25000.0, "egressPort": "25001",
			"ingressAddress": "127.0.0.2", "egressAddress": "127.0.0.3", "appAddress": "127.0.0.4", "appPorts": "9080:19080, 9090:19090",
		}}, irgen.Options{IngressPort: 25000, EgressPort: 25001, IngressAddress: "127.0.0.2", EgressAddress: "127.0.0.3",
			AppAddress: "127.0.0.4", AppPorts: map[uint32]uint32{9080: 19080, 9090: 19090}}, false},
		{"trellis sidecar tracing", map[string]any{"trellis": map[string]any{"tracing": true}},
			irgen.Options{Interception: true, IngressPort: 15000, EgressPort: 15001, Tracing: true}, false},
		{"trellis sidecar not tracing", map[string]any{"trellis": map[string]any{"interception": "iptables"}},
			irgen.Options{Interception: true, IngressPort: 15000, EgressPort: 15001}, false},
		{"bad tracing", map[string]any{"trellis": map[string]any{"tracing": "yes"}}, irgen.Options{}, true},
		{"bad interception", map[string]any{"trellis": map[string]any{"interception": "ebpf"}}, irgen.Options{}, true},
		{"port out of range", map[string]any{"trellis": map[string]any{"ingressPort": 70000.0}}, irgen.Options{}, true},
		{"fractional port", map[string]any{"trellis": map[string]any{"egressPort": 1.5}}, irgen.Options{}, true},
		{"bad app ports", map[string]any{"trellis": map[string]any{"appPorts": "9080=1"}}, irgen.Options{}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := optionsFromMetadata(tc.md)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if !tc.wantErr && !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}
