package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Policy versions IAM accepts. Policy variables are substituted only under
// Version2012.
const (
	Version2012 = "2012-10-17"
	Version2008 = "2008-10-17"
)

// Effect is a statement's Effect.
type Effect int

// The two effects.
const (
	EffectAllow Effect = iota + 1
	EffectDeny
)

// Policy is a parsed, immutable IAM identity-based policy.
type Policy struct {
	Version    string
	ID         string
	Statements []Statement
}

// Statement is one parsed statement. Exactly one of Actions/NotActions and
// one of Resources/NotResources is set (the Not form when its Not flag is true).
type Statement struct {
	Sid         string
	Effect      Effect
	Actions     []string // lower-cased patterns
	NotAction   bool
	Resources   []string
	NotResource bool
	Conditions  []Condition
	variables   bool // Version 2012-10-17: ${...} substitution applies
}

// ParseError is a policy document error naming the field at fault, such as
// Statement[1].Action.
type ParseError struct {
	Field string
	Msg   string
}

func (e *ParseError) Error() string {
	if e.Field == "" {
		return "policy: " + e.Msg
	}
	return "policy: " + e.Field + ": " + e.Msg
}

func errf(field, format string, args ...any) error {
	return &ParseError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// MaxDocumentBytes bounds a policy document, as IAM bounds managed policies
// (6,144 characters); Trellis allows more room but not unbounded input.
const MaxDocumentBytes = 128 << 10

// Parse decodes an IAM policy document. Errors are *ParseError values naming
// the field (Statement[1].Action: ...). Principal and NotPrincipal are
// rejected, as IAM rejects them in identity-based policies; unknown elements
// and unknown condition operators are errors too.
func Parse(doc []byte) (*Policy, error) {
	if len(doc) > MaxDocumentBytes {
		return nil, errf("", "document is %d bytes, more than %d", len(doc), MaxDocumentBytes)
	}
	top, err := object(doc, "")
	if err != nil {
		return nil, err
	}
	p := &Policy{Version: Version2008}
	if err := checkKeys(top, "", "Version", "Id", "Statement"); err != nil {
		return nil, err
	}
	if raw, ok := top["Version"]; ok {
		if err := json.Unmarshal(raw, &p.Version); err != nil || (p.Version != Version2012 && p.Version != Version2008) {
			return nil, errf("Version", "want %q or %q", Version2012, Version2008)
		}
	}
	if raw, ok := top["Id"]; ok {
		if err := json.Unmarshal(raw, &p.ID); err != nil {
			return nil, errf("Id", "want a string")
		}
	}
	raw, ok := top["Statement"]
	if !ok {
		return nil, errf("Statement", "missing")
	}
	stmts, err := statements(raw)
	if err != nil {
		return nil, err
	}
	for i, s := range stmts {
		field := "Statement"
		if len(stmts) > 1 || bytes.HasPrefix(bytes.TrimSpace(raw), []byte("[")) {
			field = fmt.Sprintf("Statement[%d]", i)
		}
		st, err := parseStatement(s, field, p.Version == Version2012)
		if err != nil {
			return nil, err
		}
		p.Statements = append(p.Statements, st)
	}
	return p, nil
}

// statements accepts Statement as one object or an array of objects.
func statements(raw json.RawMessage) ([]json.RawMessage, error) {
	t := bytes.TrimSpace(raw)
	if bytes.HasPrefix(t, []byte("{")) {
		return []json.RawMessage{t}, nil
	}
	var list []json.RawMessage
	if err := json.Unmarshal(t, &list); err != nil {
		return nil, errf("Statement", "want an object or an array of objects")
	}
	if len(list) == 0 {
		return nil, errf("Statement", "empty")
	}
	return list, nil
}

func parseStatement(raw json.RawMessage, field string, variables bool) (Statement, error) {
	m, err := object(raw, field)
	if err != nil {
		return Statement{}, err
	}
	if _, ok := m["Principal"]; ok {
		return Statement{}, errf(field+".Principal", "not allowed in an identity-based policy")
	}
	if _, ok := m["NotPrincipal"]; ok {
		return Statement{}, errf(field+".NotPrincipal", "not allowed in an identity-based policy")
	}
	if err := checkKeys(m, field, "Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition"); err != nil {
		return Statement{}, err
	}
	st := Statement{variables: variables}
	if raw, ok := m["Sid"]; ok {
		if err := json.Unmarshal(raw, &st.Sid); err != nil {
			return st, errf(field+".Sid", "want a string")
		}
	}
	if st.Effect, err = parseEffect(m["Effect"], field+".Effect"); err != nil {
		return st, err
	}
	if st.Actions, st.NotAction, err = pair(m, field, "Action", "NotAction", validAction); err != nil {
		return st, err
	}
	for i, a := range st.Actions {
		st.Actions[i] = strings.ToLower(a)
	}
	if st.Resources, st.NotResource, err = pair(m, field, "Resource", "NotResource", validResource); err != nil {
		return st, err
	}
	if raw, ok := m["Condition"]; ok {
		if st.Conditions, err = parseConditions(raw, field+".Condition"); err != nil {
			return st, err
		}
	}
	return st, nil
}

func parseEffect(raw json.RawMessage, field string) (Effect, error) {
	if raw == nil {
		return 0, errf(field, "missing")
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return 0, errf(field, "want \"Allow\" or \"Deny\"")
	}
	switch s {
	case "Allow":
		return EffectAllow, nil
	case "Deny":
		return EffectDeny, nil
	}
	return 0, errf(field, "%q: want \"Allow\" or \"Deny\"", s)
}

// pair reads exactly one of name/notName as a string or string array.
func pair(m map[string]json.RawMessage, field, name, notName string, valid func(string) error) ([]string, bool, error) {
	raw, has := m[name]
	notRaw, hasNot := m[notName]
	switch {
	case has && hasNot:
		return nil, false, errf(field, "both %s and %s", name, notName)
	case !has && !hasNot:
		return nil, false, errf(field+"."+name, "missing (or %s)", notName)
	case hasNot:
		raw, name = notRaw, notName
	}
	f := field + "." + name
	vals, err := stringList(raw, f)
	if err != nil {
		return nil, false, err
	}
	if len(vals) == 0 {
		return nil, false, errf(f, "empty")
	}
	for i, v := range vals {
		if err := valid(v); err != nil {
			return nil, false, errf(fmt.Sprintf("%s[%d]", f, i), "%q: %v", v, err)
		}
	}
	return vals, hasNot, nil
}

func validAction(a string) error {
	if a == "*" {
		return nil
	}
	svc, act, ok := strings.Cut(a, ":")
	if !ok || svc == "" || act == "" {
		return errors.New("want \"*\" or service:Action (appmesh:UpdateRoute, appmesh:Describe*)")
	}
	return nil
}

func validResource(r string) error {
	if r == "*" || strings.HasPrefix(r, "arn:") && strings.Count(r, ":") >= 5 {
		return nil
	}
	return errors.New("want \"*\" or an ARN (arn:aws:appmesh:region:account:mesh/name)")
}

// stringList accepts a string or an array of strings.
func stringList(raw json.RawMessage, field string) ([]string, error) {
	var one string
	if err := json.Unmarshal(raw, &one); err == nil {
		return []string{one}, nil
	}
	var many []string
	if err := json.Unmarshal(raw, &many); err != nil {
		return nil, errf(field, "want a string or an array of strings")
	}
	return many, nil
}

func object(raw []byte, field string) (map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		if field == "" {
			return nil, errf("", "not a JSON object: %v", jsonErr(err))
		}
		return nil, errf(field, "want an object")
	}
	return m, nil
}

func jsonErr(err error) error {
	if err == nil {
		return errors.New("null")
	}
	return err
}

// checkKeys rejects elements IAM does not know.
func checkKeys(m map[string]json.RawMessage, field string, known ...string) error {
	var unknown []string
	for k := range m {
		found := false
		for _, kn := range known {
			found = found || k == kn
		}
		if !found {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	sort.Strings(unknown)
	name := unknown[0]
	if field != "" {
		name = field + "." + name
	}
	return errf(name, "unknown element")
}
