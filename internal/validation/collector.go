package validation

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// path is a field path rooted at "spec" (or at the field given to Tags and
// friends): spec.listeners[0].portMapping.port.
type path string

// field appends a member name.
func (p path) field(name string) path { return p + "." + path(name) }

// index appends a list index.
func (p path) index(i int) path { return p + "[" + path(strconv.Itoa(i)) + "]" }

// collector gathers violations in the order the checks run.
type collector struct {
	violations []Violation
}

func (c *collector) add(p path, rule string) {
	c.violations = append(c.violations, Violation{Field: string(p), Rule: rule})
}

func (c *collector) addf(p path, format string, args ...any) {
	c.add(p, fmt.Sprintf(format, args...))
}

// err returns nil or an *Error holding the violations.
func (c *collector) err() error {
	if len(c.violations) == 0 {
		return nil
	}
	return &Error{Violations: c.violations}
}

// requiredString checks a required string member. The wire types keep
// required strings as plain strings, so "" means absent.
func (c *collector) requiredString(p path, s string, minLen, maxLen int) {
	if s == "" {
		c.add(p, "is required")
		return
	}
	c.length(p, s, minLen, maxLen)
}

// optionalString checks the length of an optional string if it is present.
func (c *collector) optionalString(p path, s *string, minLen, maxLen int) {
	if s != nil {
		c.length(p, *s, minLen, maxLen)
	}
}

// regex checks an optional regular expression (len 1..255) that Envoy
// will compile with RE2. Go's regexp is RE2 syntax, so what it rejects
// Envoy would reject too, as a NACK long after the API said yes.
func (c *collector) regex(p path, s *string) {
	if s == nil {
		return
	}
	c.length(p, *s, 1, 255)
	if _, err := regexp.Compile(*s); err != nil {
		c.addf(p, "must be a valid RE2 regular expression: %v", err)
	}
}

// length checks a string length in characters (Unicode code points, as
// Smithy counts them). maxLen <= 0 means no upper bound.
func (c *collector) length(p path, s string, minLen, maxLen int) {
	n := utf8.RuneCountInString(s)
	switch {
	case maxLen > 0 && (n < minLen || n > maxLen):
		c.addf(p, "length must be %d..%d", minLen, maxLen)
	case n < minLen:
		c.addf(p, "length must be >= %d", minLen)
	}
}

// pattern checks s against a model pattern.
func (c *collector) pattern(p path, s string, re *regexp.Regexp) {
	if !re.MatchString(s) {
		c.addf(p, "must match %s", re)
	}
}

// between checks lo <= v <= hi.
func (c *collector) between(p path, v, lo, hi int64) {
	if v < lo || v > hi {
		c.addf(p, "must be %d..%d", lo, hi)
	}
}

// atLeast checks v >= lo.
func (c *collector) atLeast(p path, v, lo int64) {
	if v < lo {
		c.addf(p, "must be >= %d", lo)
	}
}

// port checks a port number.
func (c *collector) port(p path, v int32) { c.between(p, int64(v), 1, 65535) }

// optionalPort checks a port number if it is present.
func (c *collector) optionalPort(p path, v *int32) {
	if v != nil {
		c.port(p, *v)
	}
}

// enum checks a case-sensitive enum value; "" means absent.
func (c *collector) enum(p path, v string, required bool, allowed []string) {
	if v == "" {
		if required {
			c.add(p, "is required")
		}
		return
	}
	if !slices.Contains(allowed, v) {
		c.addf(p, "must be one of %s", strings.Join(allowed, "|"))
	}
}

// items checks the size of a list that is present. A JSON list that is
// present but empty decodes to a non-nil empty slice, so callers pass
// present = (list != nil) and the model minimum applies to it. maxItems <= 0
// means no upper bound.
func (c *collector) items(p path, n int, present bool, minItems, maxItems int) {
	if !present {
		return
	}
	switch {
	case maxItems > 0 && minItems == maxItems && n != minItems:
		c.addf(p, "must have exactly %d item(s)", minItems)
	case maxItems > 0 && minItems > 0 && (n < minItems || n > maxItems):
		c.addf(p, "must have %d..%d items", minItems, maxItems)
	case maxItems > 0 && n > maxItems:
		c.addf(p, "must have at most %d items", maxItems)
	case n < minItems:
		c.addf(p, "must have at least %d item(s)", minItems)
	}
}

// member is one member of a union or of a "one of" structure.
type member struct {
	name string
	set  bool
}

// setNames returns the names of the members that are set, and all names.
func setNames(ms []member) (set, all []string) {
	for _, m := range ms {
		all = append(all, m.name)
		if m.set {
			set = append(set, m.name)
		}
	}
	return set, all
}

// union checks a modeled union: exactly one member must be set. It reports
// whether that holds.
func (c *collector) union(p path, ms ...member) bool {
	set, all := setNames(ms)
	switch len(set) {
	case 1:
		return true
	case 0:
		c.addf(p, "must have exactly one member, got 0 (one of %s)", strings.Join(all, "|"))
	default:
		c.addf(p, "must have exactly one member, got %d (%s)", len(set), strings.Join(set, ", "))
	}
	return false
}

// oneOf checks a plain structure documented as "one of" some members: at
// most one (atMost) or exactly one of them must be set.
func (c *collector) oneOf(p path, atMost bool, ms ...member) {
	set, all := setNames(ms)
	if len(set) == 1 || (atMost && len(set) == 0) {
		return
	}
	word := "exactly"
	if atMost {
		word = "at most"
	}
	detail := strings.Join(set, ", ")
	if len(set) == 0 {
		detail = "none"
	}
	c.addf(p, "must set %s one of %s, got %d (%s)", word, strings.Join(all, "|"), len(set), detail)
}

// uniquePorts reports listeners that reuse a port. ports[i] is the port of
// list item i, or 0 if it has no (valid) port mapping.
func (c *collector) uniquePorts(p path, ports []int32) {
	first := make(map[int32]int, len(ports))
	for i, port := range ports {
		if port == 0 {
			continue
		}
		if j, dup := first[port]; dup {
			c.addf(p.index(i).field("portMapping").field("port"),
				"duplicate listener port %d (also used by listener %d)", port, j)
			continue
		}
		first[port] = i
	}
}
