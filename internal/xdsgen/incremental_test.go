package xdsgen

import (
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
)

// TestTranslateFrom: translating a changed IR from an earlier translation
// gives what a fresh translation gives, keeps the objects of the resources
// whose IR did not change, and builds the others anew.
func TestTranslateFrom(t *testing.T) {
	prevIR := loadProxy(t, "outbound-http-weighted")
	prev, err := Translate(prevIR)
	if err != nil {
		t.Fatal(err)
	}
	next := loadProxy(t, "outbound-http-weighted")
	next.RouteConfigs[0].VirtualHosts[0].Routes[0].Action.Clusters[0].Weight++
	got, err := TranslateFrom(next, prevIR, prev)
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := Translate(next)
	if err != nil {
		t.Fatal(err)
	}
	for _, pair := range [][2][]proto.Message{
		{messages(got.Listeners), messages(fresh.Listeners)}, {messages(got.Routes), messages(fresh.Routes)},
		{messages(got.Clusters), messages(fresh.Clusters)}, {messages(got.Endpoints), messages(fresh.Endpoints)},
	} {
		if len(pair[0]) != len(pair[1]) {
			t.Fatalf("%d resources, a fresh translation has %d", len(pair[0]), len(pair[1]))
		}
		for i := range pair[0] {
			if !proto.Equal(pair[0][i], pair[1][i]) {
				t.Errorf("resource %d differs from a fresh translation", i)
			}
		}
	}
	if got.Routes[0] == prev.Routes[0] {
		t.Error("the changed route configuration kept its old object")
	}
	for i := range got.Clusters {
		if got.Clusters[i] != prev.Clusters[i] {
			t.Errorf("unchanged cluster %s was built again", got.Clusters[i].GetName())
		}
	}
	for i := range got.Listeners {
		if got.Listeners[i] != prev.Listeners[i] {
			t.Errorf("unchanged listener %s was built again", got.Listeners[i].GetName())
		}
	}
}

// TestTranslateFromEveryCase: from a translation of another case (nothing
// or little in common), every golden case translates as it does fresh.
func TestTranslateFromEveryCase(t *testing.T) {
	ins, _ := filepath.Glob(filepath.Join("testdata", "*"+inSuffix))
	base := loadProxy(t, "outbound-http-weighted")
	baseRes, err := Translate(base)
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range ins {
		name := strings.TrimSuffix(filepath.Base(in), inSuffix)
		p := loadProxy(t, name)
		fresh, err := Translate(p)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got, err := TranslateFrom(p, base, baseRes)
		if err != nil {
			t.Fatalf("%s from another case: %v", name, err)
		}
		a, b := append(append(messages(got.Listeners), messages(got.Routes)...), messages(got.Clusters)...),
			append(append(messages(fresh.Listeners), messages(fresh.Routes)...), messages(fresh.Clusters)...)
		if len(a) != len(b) {
			t.Fatalf("%s: %d resources, fresh %d", name, len(a), len(b))
		}
		for i := range a {
			if !proto.Equal(a[i], b[i]) {
				t.Errorf("%s: resource %d differs from a fresh translation", name, i)
			}
		}
	}
}

func messages[T proto.Message](rs []T) []proto.Message {
	out := make([]proto.Message, len(rs))
	for i, r := range rs {
		out[i] = r
	}
	return out
}

// TestVirtualHostsShared: route configurations with an equal virtual host
// translated with one Memo hold the same object, built and validated
// once; an invalid host is still refused, wherever it appears.
func TestVirtualHostsShared(t *testing.T) {
	memo := NewMemo()
	p := loadProxy(t, "outbound-http-weighted")
	a, err := memo.Translate(p)
	if err != nil {
		t.Fatal(err)
	}
	b, err := memo.Translate(loadProxy(t, "outbound-http-weighted"))
	if err != nil {
		t.Fatal(err)
	}
	if a.Routes[0] == b.Routes[0] || a.Routes[0].GetVirtualHosts()[0] != b.Routes[0].GetVirtualHosts()[0] {
		t.Error("equal virtual hosts of two translations are not one object")
	}
	bad := loadProxy(t, "outbound-http-weighted")
	bad.RouteConfigs[0].VirtualHosts[0].Domains = nil
	if _, err := memo.Translate(bad); err == nil || !strings.Contains(err.Error(), "virtual host") {
		t.Errorf("a virtual host without domains: %v", err)
	}
}

// TestMemoAtBound: a Memo bounded at one entry per table evicts, holds no
// more than its bound, and translates exactly as an unbounded one.
func TestMemoAtBound(t *testing.T) {
	tiny := newMemoSized(1, 1)
	for _, name := range []string{"outbound-http-weighted", "access-logs", "dns-clusters", "outbound-http-weighted"} {
		got, err := tiny.Translate(loadProxy(t, name))
		if err != nil {
			t.Fatal(err)
		}
		want, err := Translate(loadProxy(t, name))
		if err != nil {
			t.Fatal(err)
		}
		if !sameResources(got, want) {
			t.Errorf("%s: translation through a memo at its bound differs", name)
		}
		if n := tiny.Len(); n > 5 {
			t.Fatalf("%s: memo of bound 1 per table holds %d entries", name, n)
		}
	}
}

// sameResources compares two translations message by message.
func sameResources(a, b *Resources) bool {
	ma, mb := messages(a.Listeners), messages(b.Listeners)
	ma = append(append(append(ma, messages(a.Routes)...), messages(a.Clusters)...), messages(a.Endpoints)...)
	mb = append(append(append(mb, messages(b.Routes)...), messages(b.Clusters)...), messages(b.Endpoints)...)
	if len(ma) != len(mb) {
		return false
	}
	for i := range ma {
		if !proto.Equal(ma[i], mb[i]) {
			return false
		}
	}
	return true
}
