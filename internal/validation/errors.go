package validation

import (
	"errors"
	"fmt"
	"strings"
)

// Violation is one broken rule at one field path.
type Violation struct {
	// Field is the path of the offending field, e.g.
	// spec.listeners[0].portMapping.port. It is empty only for errors that
	// Join received from outside this package.
	Field string
	// Rule says the rule that is broken, e.g. "must be 1..65535".
	Rule string
}

// String returns "Field: Rule".
func (v Violation) String() string {
	if v.Field == "" {
		return v.Rule
	}
	return v.Field + ": " + v.Rule
}

// Error is a non-empty list of violations.
type Error struct {
	Violations []Violation
}

// maxShown is how many violations Error() spells out before summarising the
// rest, which keeps API error messages readable for wildly broken inputs.
const maxShown = 10

// Error joins the first ten violations with "; " and counts the rest.
func (e *Error) Error() string {
	n := min(len(e.Violations), maxShown)
	parts := make([]string, 0, n+1)
	for _, v := range e.Violations[:n] {
		parts = append(parts, v.String())
	}
	if rest := len(e.Violations) - n; rest > 0 {
		parts = append(parts, fmt.Sprintf("and %d more", rest))
	}
	return strings.Join(parts, "; ")
}

// Join merges several errors returned by the functions of this package into
// one *Error, keeping their order. It returns nil if every error is nil. An
// error of another type becomes a violation with an empty Field.
func Join(errs ...error) error {
	var all []Violation
	for _, err := range errs {
		if err == nil {
			continue
		}
		var ve *Error
		if errors.As(err, &ve) {
			if ve != nil {
				all = append(all, ve.Violations...)
			}
			continue
		}
		all = append(all, Violation{Rule: err.Error()})
	}
	if len(all) == 0 {
		return nil
	}
	return &Error{Violations: all}
}
