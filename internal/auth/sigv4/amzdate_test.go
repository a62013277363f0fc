package sigv4

import (
	"net/http"
	"net/textproto"
	"strings"
	"testing"
	"time"
)

// sameParse compares a direct reader with time.Parse on one input.
func sameParse(t *testing.T, layout, v string, parse func(string) (time.Time, error)) {
	t.Helper()
	got, err := parse(v)
	want, werr := time.Parse(layout, v)
	if (err == nil) != (werr == nil) || !got.Equal(want) || got.Location() != want.Location() {
		t.Fatalf("%q: got %v, %v; time.Parse %v, %v", v, got, err, want, werr)
	}
}

// TestParseAmzDate: the direct readers agree with time.Parse, on the
// SDKs' form and on what they leave to it.
func TestParseAmzDate(t *testing.T) {
	for _, v := range []string{
		"20261207T035132Z", "20240229T235959Z", "00000101T000000Z", "99991231T235959Z",
		"20230229T000000Z", "20261207T240000Z", "20261207T236000Z", "20261207T235960Z", "20261300T000000Z",
		"20261207T35132Z", "20261207X035132Z", "20261207T035132z", "2026120T0035132Z", "2026-1207T035132Z",
		"+0261207T035132Z", "", "20261207T035132Z ", "２0261207T035132Z",
	} {
		t.Run(v, func(t *testing.T) { sameParse(t, TimeFormat, v, parseAmzDate) })
	}
	for _, v := range []string{"20261207", "20240229", "20230229", "20261301", "00000101", "2026120", "2026120x", "+0261207", ""} {
		t.Run("scope "+v, func(t *testing.T) { sameParse(t, "20060102", v, parseScopeDate) })
	}
	for _, tm := range []time.Time{time.Date(2026, 12, 7, 23, 59, 0, 0, time.FixedZone("x", -3600)), time.Date(5, 1, 2, 0, 0, 0, 0, time.UTC),
		time.Date(12345, 1, 2, 0, 0, 0, 0, time.UTC), time.Date(-1, 1, 2, 0, 0, 0, 0, time.UTC), time.Date(2026, 1, 2, 3, 4, 5, 999, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC), time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC)} {
		if got, want := string(appendScopeDate(nil, tm)), tm.UTC().Format("20060102"); got != want {
			t.Errorf("appendScopeDate(%v) = %q, want %q", tm, got, want)
		}
		if got, want := string(appendAmzDate(nil, tm)), tm.UTC().Format(TimeFormat); got != want {
			t.Errorf("appendAmzDate(%v) = %q, want %q", tm, got, want)
		}
	}
}

// FuzzAmzDate holds the direct date readers to time.Parse on any input
// (X-Amz-Date and the credential's date come from the network), and the
// direct writer to Format on what they read.
func FuzzAmzDate(f *testing.F) {
	f.Add("20261207T035132Z")
	f.Add("20230229T000000Z")
	f.Add("20261207")
	f.Fuzz(func(t *testing.T, v string) {
		sameParse(t, TimeFormat, v, parseAmzDate)
		sameParse(t, "20060102", v, parseScopeDate)
		if tm, err := parseAmzDate(v); err == nil {
			if got, want := string(appendAmzDate(nil, tm)), tm.Format(TimeFormat); got != want {
				t.Fatalf("appendAmzDate(%v) = %q, want %q", tm, got, want)
			}
		}
	})
}

// TestHeaderKeysCanonical: headerValue's keys are in canonical form, so it
// reads what Header.Get reads.
func TestHeaderKeysCanonical(t *testing.T) {
	for _, k := range []string{hdrAuthorization, hdrSecurityToken, hdrAmzDate, hdrDate, hdrContentSHA256} {
		if c := textproto.CanonicalMIMEHeaderKey(k); c != k {
			t.Errorf("%q is not canonical (%q)", k, c)
		}
		h := http.Header{}
		h.Add(strings.ToLower(k), "v1")
		h.Add(k, "v2")
		if got := headerValue(h, k); got != h.Get(k) {
			t.Errorf("headerValue(%q) = %q, Get %q", k, got, h.Get(k))
		}
	}
}
