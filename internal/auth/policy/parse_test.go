package policy

import (
	"errors"
	"strings"
	"testing"
)

func TestParseErrorsNameTheField(t *testing.T) {
	stmt := func(s string) string {
		return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"appmesh:*","Resource":"*"},` + s + `]}`
	}
	tests := []struct {
		name, doc, field, msg string
	}{
		{"not json", `{`, "", "not a JSON object"},
		{"null", `null`, "", "not a JSON object"},
		{"bad version", `{"Version":"2020-01-01","Statement":[]}`, "Version", "want"},
		{"missing statement", `{"Version":"2012-10-17"}`, "Statement", "missing"},
		{"empty statement", `{"Version":"2012-10-17","Statement":[]}`, "Statement", "empty"},
		{"unknown top element", `{"Version":"2012-10-17","Statment":[]}`, "Statment", "unknown element"},
		{"statement not object", stmt(`"x"`), "Statement[1]", "want an object"},
		{"missing effect", stmt(`{"Action":"appmesh:*","Resource":"*"}`), "Statement[1].Effect", "missing"},
		{"bad effect", stmt(`{"Effect":"allow","Action":"appmesh:*","Resource":"*"}`), "Statement[1].Effect", `"allow"`},
		{"missing action", stmt(`{"Effect":"Allow","Resource":"*"}`), "Statement[1].Action", "missing"},
		{"both actions", stmt(`{"Effect":"Allow","Action":"a:b","NotAction":"a:c","Resource":"*"}`), "Statement[1]", "both Action and NotAction"},
		{"action without service", stmt(`{"Effect":"Allow","Action":["appmesh:*","UpdateRoute"],"Resource":"*"}`), "Statement[1].Action[1]", "service:Action"},
		{"action not string", stmt(`{"Effect":"Allow","Action":5,"Resource":"*"}`), "Statement[1].Action", "string"},
		{"empty action list", stmt(`{"Effect":"Allow","Action":[],"Resource":"*"}`), "Statement[1].Action", "empty"},
		{"missing resource", stmt(`{"Effect":"Allow","Action":"appmesh:*"}`), "Statement[1].Resource", "missing"},
		{"bad resource", stmt(`{"Effect":"Allow","Action":"appmesh:*","NotResource":"mesh/shop"}`), "Statement[1].NotResource[0]", "ARN"},
		{"principal", stmt(`{"Effect":"Allow","Principal":"*","Action":"appmesh:*","Resource":"*"}`), "Statement[1].Principal", "identity-based"},
		{"not principal", stmt(`{"Effect":"Allow","NotPrincipal":{"AWS":"x"},"Action":"appmesh:*","Resource":"*"}`), "Statement[1].NotPrincipal", "identity-based"},
		{"unknown element", stmt(`{"Effect":"Allow","Action":"appmesh:*","Resource":"*","Conditions":{}}`), "Statement[1].Conditions", "unknown element"},
		{"unknown operator", stmt(`{"Effect":"Allow","Action":"appmesh:*","Resource":"*","Condition":{"StringMatches":{"aws:PrincipalArn":"x"}}}`), "Statement[1].Condition.StringMatches", `unknown condition operator "StringMatches"`},
		{"unknown set operator", stmt(`{"Effect":"Allow","Action":"appmesh:*","Resource":"*","Condition":{"ForSomeValues:StringLike":{"aws:TagKeys":"x"}}}`), "Statement[1].Condition.ForSomeValues:StringLike", "unknown condition operator"},
		{"NullIfExists", stmt(`{"Effect":"Allow","Action":"appmesh:*","Resource":"*","Condition":{"NullIfExists":{"aws:TagKeys":"true"}}}`), "Statement[1].Condition.NullIfExists", "unknown condition operator"},
		{"bad cidr", stmt(`{"Effect":"Allow","Action":"appmesh:*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":["10.0.0.0/8","10.0.0.0/99"]}}}`), "Statement[1].Condition.IpAddress.aws:SourceIp[1]", "CIDR"},
		{"bad bool", stmt(`{"Effect":"Allow","Action":"appmesh:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"yes"}}}`), "Statement[1].Condition.Bool.aws:SecureTransport[0]", "true or false"},
		{"object value", stmt(`{"Effect":"Allow","Action":"appmesh:*","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalArn":[{}]}}}`), "Statement[1].Condition.StringEquals.aws:PrincipalArn[0]", "want a string"},
		{"empty values", stmt(`{"Effect":"Allow","Action":"appmesh:*","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalArn":[]}}}`), "Statement[1].Condition.StringEquals.aws:PrincipalArn", "no values"},
		{"single statement object", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"appmesh:*"}}`, "Statement.Resource", "missing"},
		{"too large", `{"Id":"` + strings.Repeat("x", MaxDocumentBytes) + `"}`, "", "bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.doc))
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("Parse = %v, want a *ParseError", err)
			}
			if pe.Field != tt.field || !strings.Contains(pe.Msg, tt.msg) {
				t.Errorf("Parse = %q (field %q), want field %q and message containing %q", err, pe.Field, tt.field, tt.msg)
			}
			if tt.field != "" && !strings.Contains(err.Error(), tt.field+": ") {
				t.Errorf("error %q does not name %s", err, tt.field)
			}
		})
	}
}

func TestParseAccepts(t *testing.T) {
	p, err := Parse([]byte(`{"Version":"2012-10-17","Id":"x","Statement":[{"Sid":"a","Effect":"Deny","NotAction":"appmesh:Describe*",
		"NotResource":["arn:aws:appmesh:*:*:mesh/a"],"Condition":{"ForAllValues:StringLikeIfExists":{"aws:TagKeys":["a*",1,true]},
		"BoolIfExists":{"aws:SecureTransport":false},"ArnNotEquals":{"aws:PrincipalArn":"arn:aws:iam::1:root"}}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	st := p.Statements[0]
	if st.Effect != EffectDeny || !st.NotAction || !st.NotResource || len(st.Conditions) != 3 || st.Actions[0] != "appmesh:describe*" {
		t.Errorf("statement = %+v", st)
	}
	c := st.Conditions[2]
	if c.Key != "aws:tagkeys" || c.set != SetForAllValues || !c.ifExists || strings.Join(c.Values, ",") != "a*,1,true" {
		t.Errorf("condition = %+v", c)
	}
}

func TestExtraKeysAndBool(t *testing.T) {
	p, err := Parse([]byte(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*",
		"Condition":{"Bool":{"aws:SecureTransport":"true"},"StringEquals":{"aws:username":"${aws:username}"}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	tls := Request{Action: "appmesh:ListMeshes", Resource: "*", Extra: map[string][]string{"aws:SecureTransport": {"true"}, "AWS:UserName": {"bob"}}}
	if got := Evaluate([]*Policy{p}, tls); got != Allow {
		t.Errorf("over TLS: %v", got)
	}
	tls.Extra["aws:SecureTransport"] = []string{"false"}
	if got := Evaluate([]*Policy{p}, tls); got != ImplicitDeny {
		t.Errorf("plain: %v", got)
	}
}
