package xdsserver

import (
	"testing"
	"time"
)

func TestProxyOf(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const lds = "type.googleapis.com/envoy.config.listener.v3.Listener"
	const cds = "type.googleapis.com/envoy.config.cluster.v3.Cluster"
	synced := TypeStatus{DesiredVersion: "v2", SentVersion: "v2", AckedVersion: "v2", AckedAt: t0}
	tests := []struct {
		name  string
		types map[string]TypeStatus
		state string
		nack  string
	}{
		{"synced", map[string]TypeStatus{lds: synced, cds: synced}, StateSynced, ""},
		{"pending", map[string]TypeStatus{lds: synced, cds: {DesiredVersion: "v3", SentVersion: "v3", AckedVersion: "v2", AckedAt: t0}}, StatePending, ""},
		{"nacked", map[string]TypeStatus{lds: synced, cds: {DesiredVersion: "v3", SentVersion: "v3", AckedVersion: "v2", AckedAt: t0,
			LastNACK: &NACK{Version: "v3", Message: "bad cluster", At: t0.Add(time.Second)}}}, StateNACKed, "bad cluster"},
		{"nack fixed by a later ack", map[string]TypeStatus{cds: {DesiredVersion: "v4", SentVersion: "v4", AckedVersion: "v4", AckedAt: t0.Add(2 * time.Second),
			LastNACK: &NACK{Version: "v3", Message: "bad cluster", At: t0.Add(time.Second)}}}, StateSynced, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := proxyOf(NodeStatus{NodeID: "mesh/m/virtualNode/red", DesiredVersion: "v", Types: tt.types})
			if p.State != tt.state || p.Mesh != "m" || p.Kind != KindVirtualNode || p.Name != "red" || !p.Connected {
				t.Errorf("proxy = %+v, want state %s", p, tt.state)
			}
			if got := ""; p.NACK != nil {
				got = p.NACK.Message
				if got != tt.nack || p.NACK.TypeURL != cds {
					t.Errorf("nack = %+v, want %q on %s", p.NACK, tt.nack, cds)
				}
			} else if tt.nack != "" {
				t.Errorf("no nack, want %q", tt.nack)
			}
		})
	}
}
