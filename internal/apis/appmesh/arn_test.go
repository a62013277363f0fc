package appmesh

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestARNRoundTrip(t *testing.T) {
	cases := []struct {
		id   Identity
		want string
	}{
		{Identity{Kind: KindMesh, Mesh: "m", Name: "m"}, "arn:aws:appmesh:eu-west-1:123456789012:mesh/m"},
		{Identity{Kind: KindVirtualNode, Mesh: "m", Name: "n"}, "arn:aws:appmesh:eu-west-1:123456789012:mesh/m/virtualNode/n"},
		{Identity{Kind: KindVirtualService, Mesh: "m", Name: "a.b.svc"}, "arn:aws:appmesh:eu-west-1:123456789012:mesh/m/virtualService/a.b.svc"},
		{Identity{Kind: KindVirtualRouter, Mesh: "m", Name: "r"}, "arn:aws:appmesh:eu-west-1:123456789012:mesh/m/virtualRouter/r"},
		{Identity{Kind: KindRoute, Mesh: "m", Parent: "r", Name: "x"}, "arn:aws:appmesh:eu-west-1:123456789012:mesh/m/virtualRouter/r/route/x"},
		{Identity{Kind: KindVirtualGateway, Mesh: "m", Name: "g"}, "arn:aws:appmesh:eu-west-1:123456789012:mesh/m/virtualGateway/g"},
		{Identity{Kind: KindGatewayRoute, Mesh: "m", Parent: "g", Name: "y"}, "arn:aws:appmesh:eu-west-1:123456789012:mesh/m/virtualGateway/g/gatewayRoute/y"},
	}
	for _, tc := range cases {
		got := tc.id.ARN("eu-west-1", "123456789012")
		if got != tc.want {
			t.Errorf("ARN(%+v) = %s, want %s", tc.id, got, tc.want)
		}
		if a := testing.AllocsPerRun(10, func() { _ = tc.id.ARN("eu-west-1", "123456789012") }); a != 1 {
			t.Errorf("ARN(%+v): %v allocations, want 1", tc.id, a)
		}
		if path := tc.id.Path(); !strings.HasSuffix(got, ":"+path) || len(path) != tc.id.pathLen() {
			t.Errorf("Path(%+v) = %s (pathLen %d)", tc.id, path, tc.id.pathLen())
		}
		p, err := ParseARN(got)
		if err != nil || p.Identity != tc.id || p.Region != "eu-west-1" || p.Account != "123456789012" || p.Partition != "aws" {
			t.Errorf("ParseARN(%s) = %+v, %v", got, p, err)
		}
	}
}

func TestParseARNRejects(t *testing.T) {
	for _, bad := range []string{
		"", "arn:aws:appmesh:r:a", "arn:aws:s3:r:a:mesh/m", "arn:aws:appmesh:r:a:mesh/", "arn:aws:appmesh:r:a:mesh/m/virtualNode",
		"arn:aws:appmesh:r:a:mesh/m/route/x", "arn:aws:appmesh:r:a:mesh/m/virtualNode/n/route/x",
		"arn:aws:appmesh:r:a:mesh/m/virtualRouter/r/gatewayRoute/x", "arn:aws:appmesh:r:a:mesh/m/virtualNode/", "arn:aws:appmesh:r:a:node/m",
	} {
		if _, err := ParseARN(bad); err == nil {
			t.Errorf("ParseARN(%q) accepted", bad)
		}
	}
}

func FuzzParseARN(f *testing.F) {
	f.Add("arn:aws:appmesh:us-east-1:123456789012:mesh/m/virtualRouter/r/route/x")
	f.Add("mesh/m/virtualNode/n")
	f.Add("arn:aws:appmesh:::mesh//")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseARN(s)
		if err != nil {
			return
		}
		// Whatever parses must format back to the same resource path.
		if !strings.HasSuffix(s, p.Identity.Path()) {
			t.Fatalf("ParseARN(%q) = %+v, path %q", s, p.Identity, p.Identity.Path())
		}
	})
}

func TestTimestampWire(t *testing.T) {
	ts := Timestamp{time.UnixMilli(1649252750072).UTC()}
	b, err := json.Marshal(ts)
	if err != nil || string(b) != "1649252750.072" {
		t.Fatalf("Marshal = %s, %v", b, err)
	}
	var back Timestamp
	if err := json.Unmarshal(b, &back); err != nil || !back.Equal(ts.Time) {
		t.Fatalf("Unmarshal = %v, %v", back, err)
	}
	whole, _ := json.Marshal(Timestamp{time.Unix(1700000000, 0)})
	if string(whole) != "1700000000" {
		t.Errorf("whole seconds = %s", whole)
	}
	if err := json.Unmarshal([]byte(`"2024-01-01T00:00:00Z"`), &back); err == nil {
		t.Error("string timestamps must be rejected, as the SDK does")
	}
}

func TestResourceMarshalData(t *testing.T) {
	r := Resource{Kind: KindRoute, Mesh: "m", Parent: "r", Name: "x", Spec: json.RawMessage(`{"priority":1}`), Status: StatusActive}
	b, err := r.MarshalData()
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	json.Unmarshal(b, &m)
	if m["meshName"] != "m" || m["virtualRouterName"] != "r" || m["routeName"] != "x" || m["status"].(map[string]any)["status"] != "ACTIVE" {
		t.Errorf("data = %s", b)
	}
	mesh := Resource{Kind: KindMesh, Mesh: "m", Name: "m"}
	b, _ = mesh.MarshalData()
	if !strings.Contains(string(b), `"spec":{}`) || strings.Contains(string(b), "meshName\":\"m\",\"meshName") {
		t.Errorf("mesh data = %s", b)
	}
}
