package policy

import (
	"strings"
	"testing"
)

// TestActionMatchFold: the no-copy matcher agrees with glob on the
// lower-cased action, for ASCII and non-ASCII actions and patterns.
func TestActionMatchFold(t *testing.T) {
	tests := []struct {
		pattern, action string
		want            bool
	}{
		{"appmesh:describemesh", "appmesh:DescribeMesh", true},
		{"appmesh:describe*", "appmesh:DescribeMesh", true},
		{"appmesh:describe*", "APPMESH:DESCRIBEVIRTUALNODE", true},
		{"appmesh:*", "servicediscovery:GetService", false},
		{"*", "anything:AtAll", true},
		{"appmesh:?pdate*", "appmesh:UpdateRoute", true},
		{"appmesh:update?", "appmesh:UpdateRoute", false},
		{"appmesh:*route", "appmesh:UpdateGatewayRoute", true},
		{"appmesh:*route*", "appmesh:ListRoutes", true},
		{"appmesh:list*s", "appmesh:ListMeshes", true},
		{"appmesh:list*s", "appmesh:ListMesh", false},
		{"", "", true},
		{"", "a", false},
		{"**", "", true},
		{"appmesh:créer*", "appmesh:CRÉERmesh", true},
		{"appmesh:créer*", "appmesh:CreerMesh", false},
		{"appmesh:describe*", "appmesh:DÉscribeMesh", false},
	}
	for _, tc := range tests {
		got := actionMatch(tc.pattern, tc.action)
		if ref := glob(tc.pattern, strings.ToLower(tc.action)); got != ref || got != tc.want {
			t.Errorf("actionMatch(%q, %q) = %v, glob on the lower case %v, want %v", tc.pattern, tc.action, got, ref, tc.want)
		}
	}
}

// TestSplitARN agrees with strings.SplitN(s, ":", 6).
func TestSplitARN(t *testing.T) {
	for _, s := range []string{"", "*", "arn:aws:appmesh:us-east-1:1:mesh/m", "arn:aws:iam::1:role/x:y", "a:b:c:d:e", "a:b:c:d:e:", ":::::", "no colons",
		"arn:aws:iam::111122223333:user/alice", "arn:aws:iam::1", "a:b:c:d:e:f:g"} {
		parts, ok := SplitARN(s)
		want := strings.SplitN(s, ":", 6)
		if ok != (len(want) == 6) || ok && parts != [6]string(want) {
			t.Errorf("SplitARN(%q) = %q, %v; SplitN gives %q", s, parts, ok, want)
		}
	}
}

// TestEvaluateAllocations: a decision on plain Action/Resource statements
// allocates nothing.
func TestEvaluateAllocations(t *testing.T) {
	var ps []*Policy
	for _, doc := range []string{
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`,
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["appmesh:Describe*","appmesh:List*"],"Resource":"arn:aws:appmesh:*:111122223333:mesh/shop*"},
		  {"Effect":"Deny","NotAction":"appmesh:*","Resource":"*"}]}`,
	} {
		p, err := Parse([]byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	req := Request{Action: "appmesh:DescribeMesh", Resource: "arn:aws:appmesh:us-east-1:111122223333:mesh/shop", Principal: "arn:aws:iam::111122223333:user/a"}
	if d := Evaluate(ps, req); d != Allow {
		t.Fatalf("decision %v", d)
	}
	if a := testing.AllocsPerRun(20, func() { Evaluate(ps, req) }); a != 0 {
		t.Errorf("%v allocations per decision, want 0", a)
	}
}
