package policy

import (
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParse feeds arbitrary documents to Parse and evaluates whatever
// parses against a few requests: neither may panic, and a parsed policy
// evaluates deterministically. The same bytes go to CloudMapTarget as a
// request body.
func FuzzParse(f *testing.F) {
	for _, d := range docs {
		f.Add([]byte(d), "appmesh:UpdateRoute", "arn:aws:appmesh:us-east-1:111122223333:mesh/shop/virtualRouter/r/route/x")
	}
	f.Add([]byte(`{"Statement":{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"ForAllValues:ArnNotLikeIfExists":{"aws:TagKeys":["*"]}}}}`), "a:b", "*")
	f.Add([]byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"arn:${aws:PrincipalArn}${*}:${","Condition":{"Null":{"aws:RequestTag/x":"true"}}}]}`), "x:y", "arn:a:b:c:d:e")
	tbl := NewTable()
	cm, _ := tbl.Lookup("servicediscovery", "RegisterInstance")
	f.Fuzz(func(t *testing.T, doc []byte, action, resource string) {
		// The same bytes as a Cloud Map request body.
		if tg, err := CloudMapTarget(cm, doc); err == nil && tg.NamespaceID != "" {
			t.Fatal("RegisterInstance targets a service")
		}
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

// FuzzGlob checks the wildcard matcher against a regular-expression
// reference, for plain and escaped patterns, and the case-folding action
// matcher against glob on the lower-cased action.
func FuzzGlob(f *testing.F) {
	f.Add("a*b?c", "axxbyc")
	f.Add("*", "*x")
	f.Add("é?*\\", "éa\\")
	f.Fuzz(func(t *testing.T, pattern, s string) {
		if !utf8.ValidString(pattern) || !utf8.ValidString(s) {
			return
		}
		if got, want := glob(pattern, s), globReference(pattern, s, false); got != want {
			t.Fatalf("glob(%q, %q) = %v, reference %v", pattern, s, got, want)
		}
		if got, want := globEscaped(pattern, s), globReference(pattern, s, true); got != want {
			t.Fatalf("globEscaped(%q, %q) = %v, reference %v", pattern, s, got, want)
		}
		lp := strings.ToLower(pattern)
		if got, want := actionMatch(lp, s), glob(lp, strings.ToLower(s)); got != want {
			t.Fatalf("actionMatch(%q, %q) = %v, glob on the lower case %v", lp, s, got, want)
		}
	})
}

func globReference(pattern, s string, escaped bool) bool {
	var b strings.Builder
	b.WriteString(`^`)
	esc := false
	for _, r := range pattern {
		switch {
		case esc:
			b.WriteString(regexp.QuoteMeta(string(r)))
			esc = false
		case escaped && r == '\\':
			esc = true
		case r == '*':
			b.WriteString(`(?s:.*)`)
		case r == '?':
			b.WriteString(`(?s:.)`)
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString(`$`)
	return regexp.MustCompile(b.String()).MatchString(s)
}
