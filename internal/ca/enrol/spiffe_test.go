package enrol

import "testing"

func TestParseID(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"spiffe://trellis.local/mesh/shop/virtualNode/web", true},
		{"spiffe://td/mesh/shop/virtualGateway/gw-1", true},
		{"spiffe://td/mesh/shop/virtualService/web", false},
		{"spiffe://TD/mesh/shop/virtualNode/web", false},
		{"spiffe://td:8443/mesh/shop/virtualNode/web", false},
		{"spiffe://td/mesh/shop/virtualNode/web/x", false},
		{"spiffe://td/mesh/../virtualNode/web", false},
		{"spiffe://td/mesh/shop/virtualNode/", false},
		{"https://td/mesh/shop/virtualNode/web", false},
		{"spiffe:///mesh/shop/virtualNode/web", false},
		{"spiffe://td/mesh/shop/virtualNode/web?x=1", false},
	} {
		id, err := ParseID(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("%q: err %v, want ok=%v", tc.in, err, tc.ok)
		}
		if err == nil && id.String() != tc.in {
			t.Errorf("%q round-trips to %q", tc.in, id.String())
		}
	}
}

func FuzzParseID(f *testing.F) {
	f.Add("spiffe://trellis.local/mesh/shop/virtualNode/web")
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseID(s)
		if err == nil && id.String() != s {
			t.Fatalf("%q round-trips to %q", s, id.String())
		}
	})
}
