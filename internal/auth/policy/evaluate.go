package policy

import (
	"net/netip"
	"strings"
)

// Request is what one API call asks for: the IAM action, the resource it
// targets and the request context that condition keys read.
type Request struct {
	Action       string            // "appmesh:UpdateRoute", "servicediscovery:RegisterInstance", "trellis:CreateAccessKey"
	Resource     string            // an ARN, or "*"
	Principal    string            // principal ARN (aws:PrincipalArn)
	SourceIP     netip.Addr        // aws:SourceIp
	ResourceTags map[string]string // aws:ResourceTag/<key>
	RequestTags  map[string]string // aws:RequestTag/<key>
	TagKeys      []string          // aws:TagKeys
	// Extra holds any further condition keys (aws:username,
	// aws:SecureTransport, ...), keyed by their name in any case.
	Extra map[string][]string
}

// Decision is the outcome of evaluating a request.
type Decision int

// The outcomes, as IAM names them.
const (
	ImplicitDeny Decision = iota
	Allow
	ExplicitDeny
)

func (d Decision) String() string {
	switch d {
	case Allow:
		return "Allow"
	case ExplicitDeny:
		return "ExplicitDeny"
	}
	return "ImplicitDeny"
}

// Evaluate decides req against all of a principal's policies as IAM does
// for identity-based policies: a matching Deny statement anywhere gives
// ExplicitDeny; otherwise a matching Allow gives Allow; otherwise
// ImplicitDeny. A statement matches when its Action (or NotAction), its
// Resource (or NotResource) and every one of its conditions match. Nil
// policies are ignored.
func Evaluate(policies []*Policy, req Request) Decision {
	rc := &reqCtx{req: &req, action: req.Action}
	allowed := false
	for _, p := range policies {
		if p == nil {
			continue
		}
		for i := range p.Statements {
			st := &p.Statements[i]
			if !st.matches(rc) {
				continue
			}
			if st.Effect == EffectDeny {
				return ExplicitDeny
			}
			allowed = true
		}
	}
	if allowed {
		return Allow
	}
	return ImplicitDeny
}

func (st *Statement) matches(rc *reqCtx) bool {
	hit := false
	for _, a := range st.Actions {
		if actionMatch(a, rc.action) {
			hit = true
			break
		}
	}
	if hit == st.NotAction {
		return false
	}
	hit = false
	for _, r := range st.Resources {
		if rc.arnLike(r, rc.req.Resource, st.variables) {
			hit = true
			break
		}
	}
	if hit == st.NotResource {
		return false
	}
	for i := range st.Conditions {
		if !st.Conditions[i].eval(rc, st.variables) {
			return false
		}
	}
	return true
}

// eval applies one condition. A missing key makes the condition false,
// except for negated operators (true), ...IfExists (true), ForAllValues
// (true: every one of no values matches) and Null (which tests presence).
func (c *Condition) eval(rc *reqCtx, variables bool) bool {
	vals, present := rc.lookup(c.Key)
	if c.op.kind == opNull {
		for _, v := range c.Values {
			if strings.EqualFold(v, "true") != present {
				return true
			}
		}
		return false
	}
	if !present {
		switch {
		case c.ifExists, c.set == SetForAllValues:
			return true
		case c.set == SetForAnyValue:
			return false
		}
		return c.op.negated
	}
	if c.set == SetForAllValues {
		for _, v := range vals {
			if !c.single(v, rc, variables) {
				return false
			}
		}
		return true
	}
	for _, v := range vals {
		if c.single(v, rc, variables) {
			return true
		}
	}
	return false
}

// single reports whether one request value satisfies the condition: for a
// positive operator it matches some policy value, for a negated one none.
func (c *Condition) single(v string, rc *reqCtx, variables bool) bool {
	return c.matchesAny(v, rc, variables) != c.op.negated
}

func (c *Condition) matchesAny(v string, rc *reqCtx, variables bool) bool {
	if c.op.kind == opIPAddress {
		a, err := netip.ParseAddr(v)
		if err != nil {
			return false
		}
		a = a.Unmap()
		for _, p := range c.prefixes {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	for _, raw := range c.Values {
		if rc.compare(c.op.kind, raw, v, variables && c.op.kind != opBool) {
			return true
		}
	}
	return false
}

// compare matches one request value against one policy value.
func (rc *reqCtx) compare(kind opKind, raw, got string, variables bool) bool {
	if kind == opArnLike {
		return rc.arnLike(raw, got, variables)
	}
	want, escaped, ok := rc.expand(raw, variables)
	if !ok {
		return false
	}
	if kind == opStringLike {
		return like(want, escaped, got)
	}
	if escaped {
		want = unescape(want)
	}
	switch kind {
	case opStringEquals:
		return want == got
	case opStringEqualsIgnoreCase, opBool:
		return strings.EqualFold(want, got)
	}
	return false
}
