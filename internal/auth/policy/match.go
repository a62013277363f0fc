package policy

import "strings"

// glob reports whether s matches pattern, where '*' matches any run of
// characters (including none) and '?' exactly one, as in IAM's Action,
// Resource and StringLike. Matching is byte-wise for ASCII patterns and
// rune-wise otherwise; it runs in O(len(pattern)·len(s)) worst case without
// recursion, so hostile patterns cannot blow the stack.
func glob(pattern, s string) bool {
	if isASCII(pattern) && isASCII(s) {
		return globSeq([]byte(pattern), []byte(s), '*', '?')
	}
	return globSeq([]rune(pattern), []rune(s), '*', '?')
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// globSeq is the matcher over bytes (ASCII) or runes, with star and one as
// the wildcards: greedy with one backtrack point, the last star seen.
func globSeq[T byte | rune](p, t []T, star, one T) bool {
	pi, ti := 0, 0
	last, mark := -1, 0
	for ti < len(t) {
		switch {
		case pi < len(p) && p[pi] == star: // before the literal case: a '*' in s is text
			last, mark = pi, ti
			pi++
		case pi < len(p) && (p[pi] == one || p[pi] == t[ti]):
			pi++
			ti++
		case last >= 0:
			pi = last + 1
			mark++
			ti = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == star {
		pi++
	}
	return pi == len(p)
}

// arnMatch matches an ARN against an ARN pattern the way IAM does for
// Resource, ArnLike and ArnEquals: "*" matches everything; otherwise each of
// the six colon-separated parts (arn, partition, service, region, account,
// resource) is matched separately, so a wildcard never spans a part boundary
// before the resource part, and a six-part ARN never matches a pattern of
// another shape. Two values that are not ARNs are matched as whole strings.
func arnMatch(pattern, arn string) bool {
	return arnParts(pattern, arn, glob)
}

// arnParts is arnMatch with the matcher of one part supplied, so that
// policy variables are substituted per part, after the split.
func arnParts(pattern, arn string, part func(pattern, s string) bool) bool {
	if pattern == "*" {
		return true
	}
	pp := strings.SplitN(pattern, ":", 6)
	ap := strings.SplitN(arn, ":", 6)
	switch {
	case len(pp) != 6 && len(ap) != 6:
		return part(pattern, arn)
	case len(pp) != 6 || len(ap) != 6:
		return false
	}
	for i := range pp {
		if !part(pp[i], ap[i]) {
			return false
		}
	}
	return true
}

// Wildcards in an escaped pattern (see reqCtx.expand) are runes no text
// contains.
const (
	tokStar rune = -1
	tokOne  rune = -2
)

// globEscaped matches s against a pattern in which a backslash makes the
// next character literal: the form expand gives substituted variables.
func globEscaped(pattern, s string) bool {
	toks := make([]rune, 0, len(pattern))
	esc := false
	for _, r := range pattern {
		switch {
		case esc:
			toks, esc = append(toks, r), false
		case r == '\\':
			esc = true
		case r == '*':
			toks = append(toks, tokStar)
		case r == '?':
			toks = append(toks, tokOne)
		default:
			toks = append(toks, r)
		}
	}
	return globSeq(toks, []rune(s), tokStar, tokOne)
}

// unescape removes expand's escaping, for exact comparisons.
func unescape(s string) string {
	if !strings.Contains(s, "\\") {
		return s
	}
	var b strings.Builder
	esc := false
	for _, r := range s {
		if !esc && r == '\\' {
			esc = true
			continue
		}
		esc = false
		b.WriteRune(r)
	}
	return b.String()
}

// actionMatch matches a request action against a lower-cased action
// pattern, case-insensitively (IAM action names are case-insensitive).
func actionMatch(lowerPattern, lowerAction string) bool {
	return glob(lowerPattern, lowerAction)
}
