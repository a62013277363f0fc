package irgen

import (
	"encoding/json"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/trellis-mesh/trellis/internal/ir"
)

// TestPartsMergeToProxy checks, for every golden case, that Parts are
// closed (each part's listeners and routes reference only that part's route
// configs and clusters, and no name is in two parts) and that their Merge
// is exactly what Proxy returns.
func TestPartsMergeToProxy(t *testing.T) {
	ins, _ := filepath.Glob("testdata/*.in.yaml")
	for _, in := range ins {
		t.Run(strings.TrimSuffix(filepath.Base(in), ".in.yaml"), func(t *testing.T) {
			tc := loadCase(t, in)
			eps := fakeEndpoints(tc.Endpoints)
			snap := buildSnapshot(t, tc.Resources, false)
			parts, err := NewCache(snap, eps, nil).Parts(tc.Node, tc.Options)
			if err != nil {
				t.Fatal(err)
			}
			names := map[string]int{}
			for i, p := range parts {
				checkClosed(t, i, p)
				for _, n := range partNames(p) {
					if j, dup := names[n]; dup {
						t.Errorf("%s is in parts %d and %d", n, j, i)
					}
					names[n] = i
				}
			}
			whole, err := Proxy(snap, tc.Node, tc.Options, eps)
			if err != nil {
				t.Fatal(err)
			}
			if got := Merge(parts...); !reflect.DeepEqual(got, whole) {
				t.Error("Merge(Parts) differs from Proxy")
			}
		})
	}
}

// checkClosed fails when a part references a route config or cluster it
// does not hold.
func checkClosed(t *testing.T, i int, p *ir.Proxy) {
	t.Helper()
	rcs, cls := map[string]bool{}, map[string]bool{}
	for _, rc := range p.RouteConfigs {
		rcs[rc.Name] = true
	}
	for _, c := range p.Clusters {
		cls[c.Name] = true
	}
	wantCluster := func(cs []ir.WeightedCluster) {
		for _, c := range cs {
			if !cls[c.Name] {
				t.Errorf("part %d references cluster %s it does not hold", i, c.Name)
			}
		}
	}
	for _, l := range p.Listeners {
		chains := l.FilterChains
		if l.DefaultChain != nil {
			chains = append(chains[:len(chains):len(chains)], *l.DefaultChain)
		}
		for _, c := range chains {
			if c.HTTP != nil && !rcs[c.HTTP.RouteConfig] {
				t.Errorf("part %d listener %s references route config %s it does not hold", i, l.Name, c.HTTP.RouteConfig)
			}
			if c.TCP != nil {
				wantCluster(c.TCP.Clusters)
			}
		}
	}
	for _, rc := range p.RouteConfigs {
		for _, vh := range rc.VirtualHosts {
			for _, r := range vh.Routes {
				wantCluster(r.Action.Clusters)
			}
		}
	}
}

func partNames(p *ir.Proxy) []string {
	var out []string
	for _, l := range p.Listeners {
		out = append(out, "listener "+l.Name)
	}
	for _, rc := range p.RouteConfigs {
		out = append(out, "route config "+rc.Name)
	}
	for _, c := range p.Clusters {
		out = append(out, "cluster "+c.Name)
	}
	return out
}

// TestCacheSharesOutbound: clients with the same backends share one
// outbound part whatever their names and listeners; a different backend
// list, client policy or option gets its own.
func TestCacheSharesOutbound(t *testing.T) {
	tc := loadCase(t, "testdata/backend-router-weighted.in.yaml")
	front := tc.Resources[0]
	clone := func(name, spec string) testResource {
		r := front
		r.Name = name
		if spec != "" {
			r.Spec = json.RawMessage(spec)
		}
		return r
	}
	backends := `"backends":[{"virtualService":{"virtualServiceName":"color.demo.local"}},{"virtualService":{"virtualServiceName":"empty.demo.local"}},{"virtualService":{"virtualServiceName":"later.demo.local"}}]`
	rs := append(tc.Resources,
		clone("twin", ""),
		clone("listening", `{`+backends+`,"listeners":[{"portMapping":{"port":9000,"protocol":"http"}}],"serviceDiscovery":{"dns":{"hostname":"listening.demo.local"}}}`),
		clone("fewer", `{"backends":[{"virtualService":{"virtualServiceName":"color.demo.local"}}]}`),
		clone("tls", `{`+backends+`,"backendDefaults":{"clientPolicy":{"tls":{"validation":{"trust":{"file":{"certificateChain":"/ca.pem"}}}}}}}`),
	)
	c := NewCache(buildSnapshot(t, rs, false), nil, nil)
	outbound := func(name string, opts Options) *ir.Proxy {
		t.Helper()
		parts, err := c.Parts(NodeRef{Mesh: "demo", Kind: KindVirtualNode, Name: name}, opts)
		if err != nil || len(parts) != 2 {
			t.Fatalf("%s: %d parts, %v", name, len(parts), err)
		}
		if parts[0].ID != "mesh/demo/virtualNode/"+name {
			t.Errorf("%s: own part has id %q", name, parts[0].ID)
		}
		return parts[1]
	}
	base := outbound("front", tc.Options)
	for _, name := range []string{"twin", "listening"} {
		if outbound(name, tc.Options) != base {
			t.Errorf("%s does not share front's outbound part", name)
		}
	}
	for _, name := range []string{"fewer", "tls"} {
		if outbound(name, tc.Options) == base {
			t.Errorf("%s shares front's outbound part", name)
		}
	}
	other := tc.Options
	other.EgressAddress = "127.0.0.2"
	if outbound("twin", other) == base {
		t.Error("other options share front's outbound part")
	}
}

// TestOptionsKey: every field of Options is part of its key, so proxies
// with different options never share an outbound part.
func TestOptionsKey(t *testing.T) {
	if n := reflect.TypeFor[Options]().NumField(); n != 9 {
		t.Fatalf("Options has %d fields; encode the new one in Options.key, then update this count", n)
	}
	base := Options{Interception: true, IngressPort: 1, EgressPort: 2, IngressAddress: "a", EgressAddress: "b",
		AppAddress: "c", AppPorts: map[uint32]uint32{8080: 9090, 80: 90}}
	variants := []func(*Options){
		func(o *Options) { o.Interception = false },
		func(o *Options) { o.IngressPort = 3 },
		func(o *Options) { o.EgressPort = 3 },
		func(o *Options) { o.IngressAddress = "x" },
		func(o *Options) { o.EgressAddress = "x" },
		func(o *Options) { o.AppAddress = "x" },
		func(o *Options) { o.AppPorts = map[uint32]uint32{8080: 9091, 80: 90} },
		func(o *Options) { o.AppPorts = nil },
		func(o *Options) { o.Tracing = true },
		func(o *Options) { o.TrustDomain = "x" },
	}
	seen := map[string]int{base.key(): -1}
	for i, change := range variants {
		o := base
		change(&o)
		if j, dup := seen[o.key()]; dup {
			t.Errorf("variant %d has the key of %d: %s", i, j, o.key())
		}
		seen[o.key()] = i
	}
	same := base
	same.AppPorts = map[uint32]uint32{80: 90, 8080: 9090}
	if same.key() != base.key() {
		t.Error("equal options, different keys")
	}
}
