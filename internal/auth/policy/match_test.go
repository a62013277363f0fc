package policy

import "testing"

func TestGlob(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"", "", true},
		{"*", "", true},
		{"*", "anything", true},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"a*c", "ac", true},
		{"a*c", "abbbc", true},
		{"a*c", "abbbd", false},
		{"*route*", "updateroute", true},
		{"describe*", "describemesh", true},
		{"describe*", "listmeshes", false},
		{"a*b*c", "aXbYbZc", true},
		{"a*b*c", "aXbYbZ", false},
		{"??", "é!", true},
		{"exact", "exact", true},
		{"exact", "exactly", false},
		{"**a", "a", true},
		{"*", "*x", true},
		{"a*", "a*b", true},
		{"*b", "**b", true},
		{"a?", "a*", true},
		{"a*c", "a*b", false},
	}
	for _, tt := range tests {
		if got := glob(tt.pattern, tt.s); got != tt.want {
			t.Errorf("glob(%q, %q) = %v, want %v", tt.pattern, tt.s, got, tt.want)
		}
	}
}

func TestARNMatch(t *testing.T) {
	const vn = "arn:aws:appmesh:us-east-1:111122223333:mesh/shop/virtualNode/web"
	tests := []struct {
		pattern, arn string
		want         bool
	}{
		{"*", vn, true},
		{"*", "*", true},
		{vn, vn, true},
		{"arn:aws:appmesh:*:*:mesh/shop/*", vn, true},
		{"arn:aws:appmesh:us-east-1:111122223333:mesh/shop", vn, false},
		{"arn:aws:appmesh:us-east-1:111122223333:mesh/shop*", vn, true},
		{"arn:aws:appmesh:us-*:*:*", vn, true},
		{"arn:aws:appmesh:eu-*:*:*", vn, false},
		// a wildcard stays within its segment: "*" in the region cannot eat the account
		{"arn:aws:appmesh:*:mesh/shop/virtualNode/web", vn, false},
		{"arn:aws:*:us-east-1:111122223333:mesh/*", vn, true},
		{"arn:aws:servicediscovery:*:*:*", vn, false},
		{"arn:aws:appmesh:us-east-1:11112222333?:mesh/shop/virtualNode/web", vn, true},
		{"arn:aws:appmesh:us-east-1:111122223333:mesh/*", "*", false},
		{"arn:aws:appmesh:*:*:*", "not-an-arn", false},
	}
	for _, tt := range tests {
		if got := arnMatch(tt.pattern, tt.arn); got != tt.want {
			t.Errorf("arnMatch(%q, %q) = %v, want %v", tt.pattern, tt.arn, got, tt.want)
		}
	}
}
