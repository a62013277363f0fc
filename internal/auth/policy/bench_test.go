package policy

import (
	"net/netip"
	"testing"
)

// BenchmarkEvaluate measures one authorization decision against a typical
// principal's policies (read-only + route updater + tag-conditioned
// statements), the per-request cost the middleware adds.
func BenchmarkEvaluate(b *testing.B) {
	var ps []*Policy
	for _, n := range []string{"readOnly", "routeUpdaterShop", "teamPayments", "denyOutsideVPN", "noSecretTagKeys"} {
		p, err := Parse([]byte(docs[n]))
		if err != nil {
			b.Fatal(err)
		}
		ps = append(ps, p)
	}
	req := Request{
		Action:       "appmesh:UpdateRoute",
		Resource:     "arn:aws:appmesh:us-east-1:111122223333:mesh/shop/virtualRouter/web/route/canary",
		Principal:    ciRole,
		SourceIP:     netip.MustParseAddr("10.1.2.3"),
		ResourceTags: map[string]string{"team": "payments"},
	}
	if Evaluate(ps, req) != Allow {
		b.Fatal("not allowed")
	}
	b.ReportAllocs()
	for b.Loop() {
		Evaluate(ps, req)
	}
}

// BenchmarkParse measures parsing a small policy document.
func BenchmarkParse(b *testing.B) {
	doc := []byte(docs["createTagged"])
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(doc); err != nil {
			b.Fatal(err)
		}
	}
}
