package reconcile

import (
	"testing"

	"github.com/trellis-mesh/trellis/internal/irgen"
)

// TestTranslationsShared: proxies with equal parts share one translation
// (the same Envoy resource objects), across rebuilds too, and a
// translation leaves the table when its last proxy does.
func TestTranslationsShared(t *testing.T) {
	snap := benchMesh(t, 2, 3)
	opts, err := optionsFromMetadata(nil)
	if err != nil {
		t.Fatal(err)
	}
	table := newTranslations()
	specs := irgen.NewMemo()
	parts := func(m *memo, name string) []*translation {
		t.Helper()
		ps, err := m.cache.Parts(irgen.NodeRef{Mesh: "bench", Kind: irgen.KindVirtualNode, Name: name}, opts)
		if err != nil {
			t.Fatal(err)
		}
		_, fps, err := m.fingerprints(ps, nil)
		if err != nil {
			t.Fatal(err)
		}
		ts, err := m.translate(ps, fps, nil)
		if err != nil {
			t.Fatal(err)
		}
		return ts
	}
	m1 := newMemo(irgen.NewCache(snap, nil, specs), table)
	a, b := parts(m1, "client-0"), parts(m1, "client-1")
	table.publish(nil, a)
	table.publish(nil, b)
	m1.done()
	if len(a) != 2 || a[1] != b[1] || a[1].res.Routes[0] != b[1].res.Routes[0] {
		t.Fatal("clients with the same backends do not share their outbound translation")
	}
	// svc-0 has a listener: its own part is its own.
	m2 := newMemo(irgen.NewCache(snap, nil, specs), table)
	c, s := parts(m2, "client-2"), parts(m2, "svc-0")
	table.publish(nil, c)
	table.publish(nil, s)
	m2.done()
	if c[1] != a[1] {
		t.Error("a later rebuild translated the shared outbound part again")
	}
	if s[0] == a[0] {
		t.Error("a node with listeners shares its own part with a client")
	}
	n := table.size()
	for _, ts := range [][]*translation{a, b, c} {
		table.publish(ts, nil)
	}
	table.sweep(append(fingerprintsOf(a), fingerprintsOf(s)...))
	if got := table.size(); got != 2 || table.m[s[0].fp] == nil {
		t.Errorf("table has %d translations after the clients left (had %d), want svc-0's 2", got, n)
	}
}
