package policy

import (
	"net/netip"
	"testing"
)

// FuzzParse feeds arbitrary documents to Parse and evaluates whatever
// parses against a few requests: neither may panic, and a parsed policy
// evaluates deterministically.
func FuzzParse(f *testing.F) {
	for _, d := range docs {
		f.Add([]byte(d), "appmesh:UpdateRoute", "arn:aws:appmesh:us-east-1:111122223333:mesh/shop/virtualRouter/r/route/x")
	}
	f.Add([]byte(`{"Statement":{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"ForAllValues:ArnNotLikeIfExists":{"aws:TagKeys":["*"]}}}}`), "a:b", "*")
	f.Add([]byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"arn:${aws:PrincipalArn}${*}:${","Condition":{"Null":{"aws:RequestTag/x":"true"}}}]}`), "x:y", "arn:a:b:c:d:e")
	f.Fuzz(func(t *testing.T, doc []byte, action, resource string) {
		p, err := Parse(doc)
		if err != nil {
			if p != nil {
				t.Fatal("policy and error")
			}
			return
		}
		req := Request{
			Action: action, Resource: resource, Principal: resource,
			SourceIP:     netip.MustParseAddr("10.0.0.1"),
			ResourceTags: map[string]string{"team": action}, RequestTags: map[string]string{"env": resource},
			TagKeys: []string{"env", action}, Extra: map[string][]string{"aws:SecureTransport": {"true"}},
		}
		d1 := Evaluate([]*Policy{p}, req)
		if d2 := Evaluate([]*Policy{p, nil}, req); d1 != d2 {
			t.Fatalf("non-deterministic: %v then %v", d1, d2)
		}
		_ = Evaluate([]*Policy{p}, Request{})
	})
}
