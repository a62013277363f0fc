package policy

import "strings"

// Condition keys Trellis fills from a Request (lower-cased, as keys are
// case-insensitive in IAM).
const (
	KeyPrincipalArn   = "aws:principalarn"
	KeySourceIP       = "aws:sourceip"
	KeyTagKeys        = "aws:tagkeys"
	KeyResourceTagPfx = "aws:resourcetag/"
	KeyRequestTagPfx  = "aws:requesttag/"
)

// reqCtx is a Request prepared for evaluation.
type reqCtx struct {
	req    *Request
	action string // as requested; actionMatch ignores its case
}

// lookup returns the values of a lower-cased condition key and whether the
// request has it. Tag keys are looked up exactly, then case-insensitively.
func (rc *reqCtx) lookup(key string) ([]string, bool) {
	r := rc.req
	switch {
	case key == KeyPrincipalArn:
		return []string{r.Principal}, r.Principal != ""
	case key == KeySourceIP:
		if !r.SourceIP.IsValid() {
			return nil, false
		}
		return []string{r.SourceIP.Unmap().String()}, true
	case key == KeyTagKeys:
		return r.TagKeys, len(r.TagKeys) > 0
	case strings.HasPrefix(key, KeyResourceTagPfx):
		return tag(r.ResourceTags, key[len(KeyResourceTagPfx):])
	case strings.HasPrefix(key, KeyRequestTagPfx):
		return tag(r.RequestTags, key[len(KeyRequestTagPfx):])
	}
	for k, v := range r.Extra {
		if strings.EqualFold(k, key) {
			return v, len(v) > 0
		}
	}
	return nil, false
}

// tag finds a tag value; key is lower-cased because condition keys are.
func tag(tags map[string]string, key string) ([]string, bool) {
	if v, ok := tags[key]; ok {
		return []string{v}, true
	}
	for k, v := range tags {
		if strings.EqualFold(k, key) {
			return []string{v}, true
		}
	}
	return nil, false
}

// expand substitutes policy variables (${aws:PrincipalArn},
// ${aws:ResourceTag/team}, ...) when the policy's version allows them. It
// reports ok false when a variable names a key the request lacks or one with
// several values: then the element cannot match, as in IAM. When it
// substitutes, it returns an escaped pattern (escaped true): a backslash
// makes the next character literal, so substituted values and ${*}, ${?}
// and ${$} are matched as the characters themselves, never as wildcards.
func (rc *reqCtx) expand(s string, variables bool) (out string, escaped, ok bool) {
	if !variables || !strings.Contains(s, "${") {
		return s, false, true
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		j := -1
		if i >= 0 {
			j = strings.IndexByte(s[i:], '}')
		}
		if j < 0 {
			writeEscaped(&b, s, "\\")
			return b.String(), true, true
		}
		writeEscaped(&b, s[:i], "\\")
		name := s[i+2 : i+j]
		switch name {
		case "*", "?", "$":
			writeEscaped(&b, name, "*?\\")
		default:
			vals, ok := rc.lookup(strings.ToLower(strings.TrimSpace(name)))
			if !ok || len(vals) != 1 {
				return "", false, false
			}
			writeEscaped(&b, vals[0], "*?\\")
		}
		s = s[i+j+1:]
	}
}

// writeEscaped writes s with a backslash before every character in special.
func writeEscaped(b *strings.Builder, s, special string) {
	for _, r := range s {
		if strings.ContainsRune(special, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
}

// like matches s against a pattern as expand returned it.
func like(pattern string, escaped bool, s string) bool {
	if escaped {
		return globEscaped(pattern, s)
	}
	return glob(pattern, s)
}

// arnLike matches an ARN against a policy ARN pattern, substituting
// variables part by part.
func (rc *reqCtx) arnLike(pattern, arn string, variables bool) bool {
	if !variables {
		return arnMatch(pattern, arn)
	}
	if pattern == "*" {
		return true
	}
	pp, pok := SplitARN(pattern)
	ap, aok := SplitARN(arn)
	switch {
	case !pok && !aok:
		return rc.likePart(pattern, arn)
	case !pok || !aok:
		return false
	}
	for i := range pp {
		if !rc.likePart(pp[i], ap[i]) {
			return false
		}
	}
	return true
}

// likePart matches one part of an ARN pattern, its variables substituted.
func (rc *reqCtx) likePart(pattern, s string) bool {
	want, escaped, ok := rc.expand(pattern, true)
	return ok && like(want, escaped, s)
}
