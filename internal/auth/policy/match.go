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
	if pattern == "*" {
		return true
	}
	pp, pok := SplitARN(pattern)
	ap, aok := SplitARN(arn)
	switch {
	case !pok && !aok:
		return glob(pattern, arn)
	case !pok || !aok:
		return false
	}
	for i := range pp {
		if !glob(pp[i], ap[i]) {
			return false
		}
	}
	return true
}

// SplitARN is strings.SplitN(s, ":", 6) when that gives six parts (the
// last keeps its colons), without allocating. The server's audit records
// use it too (userIdentity), for every audited call.
func SplitARN(s string) (parts [6]string, ok bool) {
	rest := s
	for i := range 5 {
		if parts[i], rest, ok = strings.Cut(rest, ":"); !ok {
			return parts, false
		}
	}
	parts[5] = rest
	return parts, true
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
// pattern, case-insensitively (IAM action names are case-insensitive),
// without copying an ASCII action.
func actionMatch(lowerPattern, action string) bool {
	if isASCII(lowerPattern) && isASCII(action) {
		return globFoldASCII(lowerPattern, action)
	}
	return glob(lowerPattern, strings.ToLower(action))
}

// globFoldASCII is glob on ASCII strings, with s's letters compared in
// lower case (pattern is lower case already).
func globFoldASCII(pattern, s string) bool {
	pi, ti := 0, 0
	last, mark := -1, 0
	for ti < len(s) {
		c := s[ti]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		switch {
		case pi < len(pattern) && pattern[pi] == '*':
			last, mark = pi, ti
			pi++
		case pi < len(pattern) && (pattern[pi] == '?' || pattern[pi] == c):
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
	for pi < len(pattern) && pattern[pi] == '*' {
		pi++
	}
	return pi == len(pattern)
}
