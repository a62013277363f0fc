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
	action string // lower-cased
}

func newReqCtx(r *Request) *reqCtx {
	return &reqCtx{req: r, action: strings.ToLower(r.Action)}
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
// reports false when a variable names a key the request lacks or one with
// several values: then the element cannot match, as in IAM. ${*}, ${?} and
// ${$} stand for the characters themselves.
func (rc *reqCtx) expand(s string, variables bool) (string, bool) {
	if !variables || !strings.Contains(s, "${") {
		return s, true
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String(), true
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			b.WriteString(s)
			return b.String(), true
		}
		b.WriteString(s[:i])
		name := s[i+2 : i+j]
		switch name {
		case "*", "?", "$":
			b.WriteString(name)
		default:
			vals, ok := rc.lookup(strings.ToLower(strings.TrimSpace(name)))
			if !ok || len(vals) != 1 {
				return "", false
			}
			b.WriteString(vals[0])
		}
		s = s[i+j+1:]
	}
}
