package server

import (
	"strings"
	"testing"
)

// TestSplitARN: splitARN agrees with strings.SplitN(arn, ":", 6).
func TestSplitARN(t *testing.T) {
	for _, arn := range []string{"arn:aws:iam::111122223333:user/alice", "arn:aws:iam::1:role/ci:extra", "arn:aws:iam::1",
		"", ":::::", "a:b:c:d:e:f:g", "no-colons"} {
		want := strings.SplitN(arn, ":", 6)
		got, ok := splitARN(arn)
		if ok != (len(want) == 6) {
			t.Errorf("%q: ok %v, SplitN gave %d parts", arn, ok, len(want))
			continue
		}
		if ok && strings.Join(got[:], "|") != strings.Join(want, "|") {
			t.Errorf("%q: got %q, want %q", arn, got, want)
		}
	}
}
