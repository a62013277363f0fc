package policy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"sort"
	"strings"
)

// opKind is the comparison family of a condition operator.
type opKind int

const (
	opStringEquals opKind = iota + 1
	opStringEqualsIgnoreCase
	opStringLike
	opArnLike // ArnEquals and ArnLike behave the same in IAM
	opIPAddress
	opBool
	opNull
)

// operator describes one condition operator name.
type operator struct {
	kind    opKind
	negated bool
}

// operators lists every supported operator; anything else is a parse error.
func lookupOperator(name string) (operator, bool) {
	switch name {
	case "StringEquals":
		return operator{opStringEquals, false}, true
	case "StringNotEquals":
		return operator{opStringEquals, true}, true
	case "StringEqualsIgnoreCase":
		return operator{opStringEqualsIgnoreCase, false}, true
	case "StringNotEqualsIgnoreCase":
		return operator{opStringEqualsIgnoreCase, true}, true
	case "StringLike":
		return operator{opStringLike, false}, true
	case "StringNotLike":
		return operator{opStringLike, true}, true
	case "ArnEquals", "ArnLike":
		return operator{opArnLike, false}, true
	case "ArnNotEquals", "ArnNotLike":
		return operator{opArnLike, true}, true
	case "IpAddress":
		return operator{opIPAddress, false}, true
	case "NotIpAddress":
		return operator{opIPAddress, true}, true
	case "Bool":
		return operator{opBool, false}, true
	case "Null":
		return operator{opNull, false}, true
	}
	return operator{}, false
}

// SetOp is the ForAnyValue:/ForAllValues: qualifier of a condition.
type SetOp int

// The set qualifiers.
const (
	SetNone SetOp = iota
	SetForAnyValue
	SetForAllValues
)

// Condition is one (operator, key, values) triple of a Condition block.
type Condition struct {
	Operator string // as written, e.g. ForAllValues:StringLikeIfExists
	Key      string // lower-cased condition key
	Values   []string
	op       operator
	set      SetOp
	ifExists bool
	prefixes []netip.Prefix // IpAddress values
}

// parseConditions reads {"Operator": {"key": value-or-values}}.
func parseConditions(raw json.RawMessage, field string) ([]Condition, error) {
	block, err := object(raw, field)
	if err != nil {
		return nil, err
	}
	var out []Condition
	for _, opName := range sortedKeys(block) {
		f := field + "." + opName
		base, set, ifExists := splitOperator(opName)
		op, ok := lookupOperator(base)
		if !ok || (op.kind == opNull && (ifExists || set != SetNone)) {
			return nil, errf(f, "unknown condition operator %q", opName)
		}
		keys, err := object(block[opName], f)
		if err != nil {
			return nil, err
		}
		for _, key := range sortedKeys(keys) {
			c, err := parseCondition(keys[key], f+"."+key, opName, key, op)
			if err != nil {
				return nil, err
			}
			c.set, c.ifExists = set, ifExists
			out = append(out, c)
		}
	}
	return out, nil
}

func parseCondition(raw json.RawMessage, field, opName, key string, op operator) (Condition, error) {
	vals, err := scalarList(raw, field)
	if err != nil {
		return Condition{}, err
	}
	if len(vals) == 0 {
		return Condition{}, errf(field, "no values")
	}
	c := Condition{Operator: opName, Key: strings.ToLower(key), Values: vals, op: op}
	switch op.kind {
	case opIPAddress:
		for i, v := range vals {
			p, err := parsePrefix(v)
			if err != nil {
				return c, errf(fmt.Sprintf("%s[%d]", field, i), "%q: want an IP address or CIDR", v)
			}
			c.prefixes = append(c.prefixes, p)
		}
	case opBool, opNull:
		for i, v := range vals {
			if lv := strings.ToLower(v); lv != "true" && lv != "false" {
				return c, errf(fmt.Sprintf("%s[%d]", field, i), "%q: want true or false", v)
			}
		}
	}
	return c, nil
}

// splitOperator strips the ForAnyValue:/ForAllValues: prefix and the
// IfExists suffix.
func splitOperator(name string) (base string, set SetOp, ifExists bool) {
	base = name
	if rest, ok := strings.CutPrefix(base, "ForAnyValue:"); ok {
		base, set = rest, SetForAnyValue
	} else if rest, ok := strings.CutPrefix(base, "ForAllValues:"); ok {
		base, set = rest, SetForAllValues
	}
	if rest, ok := strings.CutSuffix(base, "IfExists"); ok {
		base, ifExists = rest, true
	}
	return base, set, ifExists
}

func parsePrefix(v string) (netip.Prefix, error) {
	if strings.Contains(v, "/") {
		p, err := netip.ParsePrefix(v)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(v)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// scalarList accepts a string, bool or number, or an array of them, and
// returns their string forms (as IAM compares them).
func scalarList(raw json.RawMessage, field string) ([]string, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, errf(field, "want a value or an array of values")
	}
	list, isList := v.([]any)
	if !isList {
		list = []any{v}
	}
	out := make([]string, 0, len(list))
	for i, e := range list {
		switch x := e.(type) {
		case string:
			out = append(out, x)
		case bool:
			out = append(out, fmt.Sprint(x))
		case json.Number:
			out = append(out, x.String())
		default:
			return nil, errf(fmt.Sprintf("%s[%d]", field, i), "want a string, number or boolean")
		}
	}
	return out, nil
}

func sortedKeys(m map[string]json.RawMessage) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
