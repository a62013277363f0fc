package policy

import "testing"

func TestPolicyVariables(t *testing.T) {
	const mine = `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"appmesh:*",
		"Resource":"arn:aws:appmesh:*:*:mesh/${aws:username}-*"}}`
	const sameTeam = `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"appmesh:*","Resource":"*",
		"Condition":{"StringLike":{"aws:ResourceTag/team":"${aws:RequestTag/team}"}}}}`
	const literal = `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"appmesh:*","Resource":"*",
		"Condition":{"StringLike":{"aws:ResourceTag/x":"a${*}b${?}${$}*"},"StringEquals":{"aws:ResourceTag/y":"${*}\\"}}}}`
	const old = `{"Version":"2008-10-17","Statement":{"Effect":"Allow","Action":"appmesh:*","Resource":"*",
		"Condition":{"StringEquals":{"aws:ResourceTag/owner":"${aws:username}"}}}}`
	bob := map[string][]string{"aws:username": {"bob"}}
	mesh := func(m string) string { return MeshARN(region, account, m) }
	tests := []struct {
		name, doc string
		req       Request
		want      Decision
	}{
		{"own mesh", mine, Request{Action: "appmesh:UpdateMesh", Resource: mesh("bob-dev"), Extra: bob}, Allow},
		{"someone else's mesh", mine, Request{Action: "appmesh:UpdateMesh", Resource: mesh("alice-dev"), Extra: bob}, ImplicitDeny},
		{"no username: no match", mine, Request{Action: "appmesh:UpdateMesh", Resource: mesh("bob-dev")}, ImplicitDeny},
		{"wildcard in a value is literal", mine, Request{Action: "appmesh:UpdateMesh", Resource: mesh("alice-dev"),
			Extra: map[string][]string{"aws:username": {"*"}}}, ImplicitDeny},
		{"value with a colon stays in its part", mine, Request{Action: "appmesh:UpdateMesh", Resource: mesh("a:b-dev"),
			Extra: map[string][]string{"aws:username": {"a:b"}}}, Allow},
		{"same team tag", sameTeam, Request{Action: "appmesh:TagResource", Resource: mesh("m"),
			ResourceTags: map[string]string{"team": "payments"}, RequestTags: map[string]string{"team": "payments"}}, Allow},
		{"request tag * is not a wildcard", sameTeam, Request{Action: "appmesh:TagResource", Resource: mesh("m"),
			ResourceTags: map[string]string{"team": "payments"}, RequestTags: map[string]string{"team": "*"}}, ImplicitDeny},
		{"${*} ${?} ${$} are literal", literal, Request{Action: "appmesh:DescribeMesh", Resource: mesh("m"),
			ResourceTags: map[string]string{"x": "a*b?$tail", "y": `*\`}}, Allow},
		{"${*} does not match other text", literal, Request{Action: "appmesh:DescribeMesh", Resource: mesh("m"),
			ResourceTags: map[string]string{"x": "axby$tail", "y": `*\`}}, ImplicitDeny},
		{"2008-10-17 has no variables", old, Request{Action: "appmesh:DescribeMesh", Resource: mesh("m"),
			ResourceTags: map[string]string{"owner": "${aws:username}"}, Extra: bob}, Allow},
		{"2008-10-17 value is not substituted", old, Request{Action: "appmesh:DescribeMesh", Resource: mesh("m"),
			ResourceTags: map[string]string{"owner": "bob"}, Extra: bob}, ImplicitDeny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse([]byte(tt.doc))
			if err != nil {
				t.Fatal(err)
			}
			if got := Evaluate([]*Policy{p}, tt.req); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestGlobEscaped(t *testing.T) {
	for _, tt := range []struct {
		pattern, s string
		want       bool
	}{
		{`a\*b`, "a*b", true},
		{`a\*b`, "axb", false},
		{`a*b`, "axxb", true},
		{`\\`, `\`, true},
		{`x\?`, "x?", true},
		{`x\?`, "xy", false},
		{`é?*`, "éab", true},
	} {
		if got := globEscaped(tt.pattern, tt.s); got != tt.want {
			t.Errorf("globEscaped(%q, %q) = %v", tt.pattern, tt.s, got)
		}
	}
	if unescape(`a\*\\b`) != `a*\b` {
		t.Error(unescape(`a\*\\b`))
	}
}
