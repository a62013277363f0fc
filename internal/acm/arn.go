package acm

import (
	"errors"
	"fmt"
	"strings"
)

// ErrBadARN is returned (wrapped) for an ARN of the wrong form.
var ErrBadARN = errors.New("acm: malformed ARN")

// CheckCertificateARN accepts arn:aws:acm:<region>:<account>:certificate/<id>
// (any AWS partition).
func CheckCertificateARN(arn string) error {
	return checkARN(arn, "acm", "certificate/")
}

// CheckCAARN accepts
// arn:aws:acm-pca:<region>:<account>:certificate-authority/<id>.
func CheckCAARN(arn string) error {
	return checkARN(arn, "acm-pca", "certificate-authority/")
}

func checkARN(arn, service, resPrefix string) error {
	p := strings.SplitN(arn, ":", 6)
	if len(p) != 6 || p[0] != "arn" || !strings.HasPrefix(p[1], "aws") || p[2] != service {
		return fmt.Errorf("%w %q: want arn:aws:%s:<region>:<account>:%s<id>", ErrBadARN, arn, service, resPrefix)
	}
	id, ok := strings.CutPrefix(p[5], resPrefix)
	switch {
	case !validRegion(p[3]):
		return fmt.Errorf("%w %q: bad region %q", ErrBadARN, arn, p[3])
	case !validAccount(p[4]):
		return fmt.Errorf("%w %q: account must be 12 digits", ErrBadARN, arn)
	case !ok || !validID(id):
		return fmt.Errorf("%w %q: resource must be %s<id> (letters, digits, -)", ErrBadARN, arn, resPrefix)
	}
	return nil
}

func validRegion(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func validAccount(s string) bool {
	if len(s) != 12 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func validID(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}
