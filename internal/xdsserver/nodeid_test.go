package xdsserver

import (
	"errors"
	"strings"
	"testing"
)

func TestParseNodeID(t *testing.T) {
	long := strings.Repeat("n", maxNameLen)
	tests := []struct {
		id   string
		want NodeRef
		bad  bool
	}{
		{id: "mesh/m/virtualNode/a", want: NodeRef{"m", KindVirtualNode, "a"}},
		{id: "mesh/m/virtualGateway/gw", want: NodeRef{"m", KindVirtualGateway, "gw"}},
		{id: "arn:aws:appmesh:us-west-2:111122223333:mesh/m/virtualNode/a", want: NodeRef{"m", KindVirtualNode, "a"}},
		{id: "arn:aws-cn:appmesh:cn-north-1:111122223333:mesh/m/virtualGateway/g", want: NodeRef{"m", KindVirtualGateway, "g"}},
		{id: "arn:aws:appmesh-preview:us-west-2:111122223333:mesh/m/virtualNode/a", want: NodeRef{"m", KindVirtualNode, "a"}},
		{id: "mesh/shared@111122223333/virtualNode/a", want: NodeRef{"shared", KindVirtualNode, "a"}},
		{id: "arn:aws:appmesh:us-west-2:1:mesh/shared@2/virtualNode/a", want: NodeRef{"shared", KindVirtualNode, "a"}},
		{id: "mesh/m/virtualNode/" + long, want: NodeRef{"m", KindVirtualNode, long}},
		{id: "mesh/my-mesh.v1/virtualNode/svc_a-1.v2", want: NodeRef{"my-mesh.v1", KindVirtualNode, "svc_a-1.v2"}},
		// 255 characters, 510 bytes: the API accepts it, so the server must serve it.
		{id: "mesh/m/virtualNode/" + strings.Repeat("é", maxNameLen), want: NodeRef{"m", KindVirtualNode, strings.Repeat("é", maxNameLen)}},

		{id: "", bad: true},
		{id: "mesh/m", bad: true},
		{id: "mesh/m/virtualNode", bad: true},
		{id: "mesh/m/virtualNode/", bad: true},
		{id: "mesh//virtualNode/a", bad: true},
		{id: "mesh/m/virtualService/a", bad: true},
		{id: "mesh/m/virtualRouter/r/route/a", bad: true},
		{id: "mesh/m/virtualNode/a/extra", bad: true},
		{id: "Mesh/m/virtualNode/a", bad: true},
		{id: "/mesh/m/virtualNode/a", bad: true},
		{id: "mesh/m/virtualnode/a", bad: true},
		{id: "mesh/m@/virtualNode/a", bad: true},
		{id: "mesh/@o/virtualNode/a", bad: true},
		{id: "mesh/m@o@p/virtualNode/a", bad: true},
		{id: "mesh/m/virtualNode/a b", bad: true},
		{id: "mesh/m/virtualNode/a\n", bad: true},
		{id: "mesh/m/virtualNode/" + long + "n", bad: true},
		{id: "arn:aws:ecs:us-west-2:1:task-set/c/s/ts", bad: true},
		{id: "arn:aws:appmesh:us-west-2:1:mesh/m", bad: true},
		{id: "arn::appmesh:us-west-2:1:mesh/m/virtualNode/a", bad: true},
		{id: "arn:aws:appmesh:mesh/m/virtualNode/a", bad: true},
	}
	for _, tc := range tests {
		got, err := ParseNodeID(tc.id)
		if tc.bad {
			if err == nil {
				t.Errorf("ParseNodeID(%q) = %+v, want error", tc.id, got)
			} else if !errors.Is(err, ErrInvalidNodeID) {
				t.Errorf("ParseNodeID(%q) error %v does not wrap ErrInvalidNodeID", tc.id, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseNodeID(%q) = %+v, %v; want %+v", tc.id, got, err, tc.want)
		}
	}
}

// FuzzParseNodeID checks that parsing never panics, that errors wrap the
// sentinel, and that an accepted id's short form parses to the same ref.
func FuzzParseNodeID(f *testing.F) {
	for _, s := range []string{"mesh/m/virtualNode/a", "arn:aws:appmesh:r:1:mesh/m@o/virtualGateway/g", "mesh/m/x/y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		ref, err := ParseNodeID(id)
		if err != nil {
			if !errors.Is(err, ErrInvalidNodeID) {
				t.Fatalf("error %v does not wrap ErrInvalidNodeID", err)
			}
			return
		}
		if ref.Kind != KindVirtualNode && ref.Kind != KindVirtualGateway {
			t.Fatalf("kind %q accepted", ref.Kind)
		}
		if ref.Mesh == "" || ref.Name == "" || strings.ContainsAny(ref.Mesh, "/@") || strings.Contains(ref.Name, "/") {
			t.Fatalf("bad ref %+v from %q", ref, id)
		}
		back, err := ParseNodeID(ref.String())
		if err != nil || back != ref {
			t.Fatalf("round trip %q -> %+v -> %q -> %+v, %v", id, ref, ref.String(), back, err)
		}
		if !strings.HasSuffix(id, ref.Kind+"/"+ref.Name) {
			t.Fatalf("%q does not end in its kind and name %+v", id, ref)
		}
	})
}
